"""Document store: TinyDB's table API over a crash-safe journal with group commit."""

from __future__ import annotations

from appliance.store.collection import Collection
from appliance.store.errors import (
    DocumentConflict,
    InvalidDoctype,
    InvalidDocument,
    InvalidSelector,
    DocumentNotFound,
    StoreError,
    StoreLocked,
)
from appliance.store.store import Store

__all__ = [
    "Collection",
    "DocumentConflict",
    "InvalidDoctype",
    "InvalidDocument",
    "InvalidSelector",
    "DocumentNotFound",
    "Store",
    "StoreError",
    "StoreLocked",
]
