"""The journal's line format: checksummed put/del records, and scanning them back."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from appliance.store.documents import Doc, check_id, parse_json

PUT = "put"
DEL = "del"


class Entry(NamedTuple):
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


def _checked(line: bytes) -> bytes | None:
    payload = line[9:]
    try:
        if line[8] == 32 and int(line[:8], 16) == zlib.crc32(payload):
            return payload
    except (ValueError, IndexError):
        pass
    return None


def _entry(record: Any) -> Entry | None:
    try:
        if record["op"] == PUT and type(record["doc"]) is dict:
            return Entry(PUT, check_id(record["doc"]["_id"]), record["doc"])
        if record["op"] == DEL:
            return Entry(DEL, check_id(record["id"]))
    except (ValueError, KeyError, TypeError):
        return None
    return None


def scan(data: bytes) -> Scan:
    """Return the valid records of a journal's bytes; damaged lines are noted, not applied."""
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line whose write never finished
    checked = [_checked(line) for line in lines]
    records = _parse([payload for payload in checked if payload is not None])
    result = Scan()
    pending_bad: list[int] = []
    end = 0
    for number, (line, payload) in enumerate(zip(lines, checked), start=1):
        end += len(line) + 1
        entry = _entry(next(records)) if payload is not None else None
        if entry is None:
            pending_bad.append(number)
            continue
        result.entries.append(entry)
        if pending_bad:
            result.skipped.extend(pending_bad)
            pending_bad.clear()
        result.valid_end = end
    return result


def _parse(payloads: list[bytes]) -> Iterator[object]:
    """Parse many JSON payloads in one call (much faster), or one by one if one is bad."""
    try:
        parsed = parse_json(b"[" + b",".join(payloads) + b"]")
        if len(parsed) == len(payloads):
            return iter(parsed)
    except ValueError:
        pass
    return map(_loads_or_none, payloads)


def _loads_or_none(payload: bytes) -> object:
    try:
        return json.loads(payload)
    except ValueError:
        return None
