"""The journal's line format: checksummed put/del records, and scanning them back."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field

from appliance.store.documents import Doc, check_id

PUT = "put"
DEL = "del"


@dataclass(frozen=True)
class Entry:
    """One journal record: a full document written, or an id deleted."""

    op: str
    doc_id: str
    doc: Doc | None = None

    def apply(self, docs: dict[str, Doc]) -> None:
        """Apply the record to a table; replaying a record twice changes nothing more."""
        if self.doc is not None:
            docs[self.doc_id] = self.doc
        else:
            docs.pop(self.doc_id, None)


@dataclass
class Scan:
    """What a journal holds: its valid records, and where its valid part ends."""

    entries: list[Entry] = field(default_factory=list)
    valid_end: int = 0
    skipped: list[int] = field(default_factory=list)


def put_line(doc_json: str) -> bytes:
    """Return the journal line recording a document written with the given JSON text."""
    return _frame('{"op":"put","doc":' + doc_json + "}")


def del_line(doc_id: str) -> bytes:
    """Return the journal line recording a deleted document."""
    return _frame(json.dumps({"op": DEL, "id": doc_id}, separators=(",", ":")))


def _frame(payload: str) -> bytes:
    data = payload.encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(data), data)


def decode(line: bytes) -> Entry | None:
    """Return the record of one line (without its newline), or None if it is damaged."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    data = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(data):
            return None
        record = json.loads(data)
        if record["op"] == PUT and isinstance(record["doc"], dict):
            doc: Doc = record["doc"]
            return Entry(PUT, check_id(doc["_id"]), doc)
        if record["op"] == DEL:
            return Entry(DEL, check_id(record["id"]))
    except (ValueError, KeyError, TypeError):
        return None
    return None


def scan(data: bytes) -> Scan:
    """Return the valid records of a journal's bytes; damaged lines are noted, not applied."""
    result = Scan()
    start = 0
    line_number = 0
    pending_bad: list[int] = []
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            break  # a last line without its newline was never fully written
        line_number += 1
        entry = decode(data[start:end])
        if entry is None:
            pending_bad.append(line_number)
        else:
            result.entries.append(entry)
            result.skipped.extend(pending_bad)
            pending_bad.clear()
            result.valid_end = end + 1
        start = end + 1
    return result
