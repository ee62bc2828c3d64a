"""Rules for doctypes, ids, revisions and document bodies."""

from __future__ import annotations

import gc
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from appliance.store.errors import InvalidDoctype, InvalidDocument

Doc = dict[str, Any]
J = TypeVar("J")

_DOCTYPE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)+")
_DOCTYPE_MAX = 100
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_REV = re.compile(r"([1-9][0-9]{0,17})-[0-9a-f]{32}")
_META = ("_id", "_rev")


def check_doctype(doctype: object) -> str:
    """Return the doctype if it is a valid reverse-domain name, else raise InvalidDoctype."""
    if (
        not isinstance(doctype, str)
        or len(doctype) > _DOCTYPE_MAX
        or not _DOCTYPE.fullmatch(doctype)
    ):
        raise InvalidDoctype(
            f"{doctype!r} is not a valid doctype: use a reverse-domain name of at "
            f"most {_DOCTYPE_MAX} characters made of lowercase letters, digits, "
            "'-' and '_', with at least two dot-separated parts "
            "(like io.hearth.bank.operations)"
        )
    return doctype


def check_id(doc_id: object) -> str:
    """Return the id if it is a valid document id, else raise InvalidDocument."""
    if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
        raise InvalidDocument(
            f"{doc_id!r} is not a valid document id: use 1 to 128 characters among "
            "letters, digits and '_.:-', starting with a letter or a digit"
        )
    return doc_id


def is_rev(rev: object) -> bool:
    """Tell whether a value is a well-formed revision string."""
    return isinstance(rev, str) and _REV.fullmatch(rev) is not None


def next_rev(previous: str | None) -> str:
    """Return a fresh revision that follows the given one (or the first one)."""
    number = int(previous.split("-", 1)[0]) if previous else 0
    return f"{number + 1}-{_random16().hex()}"


def new_id() -> str:
    """Return a fresh random id: a version-4 UUID in hex."""
    raw = _random16()
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


_pool = bytearray()
_pool_lock = threading.Lock()


def _random16() -> bytearray:
    # os.urandom costs a system call (several µs here); drawing 4 KiB at a
    # time keeps ids and revisions unpredictable for a fraction of that.
    global _pool
    with _pool_lock:
        if len(_pool) < 16:
            _pool = bytearray(os.urandom(4096))
        raw = _pool[-16:]
        del _pool[-16:]
    return raw


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = bytearray(), threading.Lock()


# A forked child must not hand out the ids its parent was about to.
os.register_at_fork(after_in_child=_forget_pool)


def check_fields(doc: object) -> Mapping[str, Any]:
    """Return the document if its top-level field names are acceptable, else raise."""
    if not isinstance(doc, Mapping):
        raise InvalidDocument(
            f"a document must be a JSON object (a dict), not {type(doc).__name__}"
        )
    for key in doc:
        if not isinstance(key, str):
            raise InvalidDocument(f"field name {key!r} is not a string")
        if key.startswith("_") and key not in _META:
            raise InvalidDocument(
                f"field {key!r} is refused: names starting with '_' are reserved "
                "for _id and _rev; rename the field"
            )
    return doc


def to_json(doc: Mapping[str, Any]) -> str:
    """Return the compact JSON text of a document, or raise InvalidDocument."""
    try:
        text = json.dumps(
            doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidDocument(
            f"document {doc.get('_id')!r} can't be stored as JSON: {exc}"
        ) from None
    return text


def build(doc_id: str, rev: str, fields: Mapping[str, Any]) -> tuple[Doc, str]:
    """Return the stored form of a document and its JSON text, with _id and _rev first."""
    body: Doc = {"_id": doc_id, "_rev": rev}
    body.update((k, v) for k, v in fields.items() if k not in _META)
    text = to_json(body)
    # Parsing our own output gives the exact value a replay will see (tuples
    # become lists, and the caller keeps no reference into the store).
    parsed: Doc = json.loads(text)
    return parsed, text


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the garbage collector while many long-lived objects are created."""
    # Otherwise it walks the growing heap again and again as a collection
    # loads, doubling the time for nothing it could free.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_json(data: bytes) -> Any:
    """Parse a large JSON text, with the garbage collector paused."""
    with paused_gc():
        return json.loads(data)


def clone(value: J) -> J:
    """Return a deep copy of a JSON value."""
    return cast(J, _clone(value))


def _clone(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _clone(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if kind is list:
        return [_clone(v) if type(v) in (dict, list) else v for v in value]
    return value
