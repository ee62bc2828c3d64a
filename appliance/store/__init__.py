"""Document store: TinyDB's table API over a crash-safe journal with group commit."""

from __future__ import annotations

from appliance.store.collection import Collection
from appliance.store.errors import (
    Conflict,
    InvalidDoctype,
    InvalidDocument,
    InvalidSelector,
    NotFound,
    StoreError,
    StoreLocked,
)
from appliance.store.store import Store

__all__ = [
    "Collection",
    "Conflict",
    "InvalidDoctype",
    "InvalidDocument",
    "InvalidSelector",
    "NotFound",
    "Store",
    "StoreError",
    "StoreLocked",
]
