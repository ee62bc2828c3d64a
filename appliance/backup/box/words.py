"""What the engine's errors mean for the owner, with byte counts in the reader's units.

The codes and their wording live with the errors (appliance/backup/engine/backuperrors.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


SIZES = ("size", "new")  # parameters that count bytes: written in the reader's units


def said(translate: Callable[..., str], message: str, params: dict[str, Any],
         size: Callable[[int], str]) -> str:
    """Return a message in the language of `translate`, its byte counts in `size`'s units."""
    return translate(message, **{k: size(v) if k in SIZES and isinstance(v, int) else v
                                 for k, v in params.items()})
