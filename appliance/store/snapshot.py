"""Snapshot files: a fixed-size header line, then every document as one JSON array."""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from appliance.store.documents import Doc, parse_json
from appliance.store.errors import StoreError
from appliance.durable import FileOps

logger = logging.getLogger(__name__)

FORMAT = "hearth-store-snapshot/1"
HEADER_SIZE = 256
_CHUNK = 2000


def write(path: Path, docs: Sequence[Doc], version: int, ops: FileOps) -> int:
    """Atomically replace the snapshot at path with docs; return its size in bytes."""
    with ops.atomic_file(path, temp=path.with_name(path.name + ".tmp")) as fd:
        crc, size = 0, 0
        for start in range(0, len(docs), _CHUNK):
            text = json.dumps(
                docs[start : start + _CHUNK], ensure_ascii=False, separators=(",", ":")
            )[1:-1]
            piece = ("[" if start == 0 else ",").encode() + text.encode("utf-8")
            ops.write_all(fd, piece, HEADER_SIZE + size)
            crc, size = zlib.crc32(piece, crc), size + len(piece)
        tail = b"]\n" if docs else b"[]\n"
        ops.write_all(fd, tail, HEADER_SIZE + size)
        crc, size = zlib.crc32(tail, crc), size + len(tail)
        header = {"format": FORMAT, "version": version, "count": len(docs),
                  "bytes": size, "crc32": f"{crc:08x}"}
        ops.write_all(fd, json.dumps(header).encode().ljust(HEADER_SIZE - 1) + b"\n", 0)
    return HEADER_SIZE + size


def read_version(path: Path) -> int:
    """Return the schema version recorded in a snapshot's header."""
    with open(path, "rb") as f:
        return int(_header(f.read(HEADER_SIZE), path)["version"])


def read(path: Path) -> tuple[int, list[Doc]]:
    """Return the schema version and documents of a snapshot, checking its checksum."""
    with open(path, "rb") as f:
        header = _header(f.read(HEADER_SIZE), path)
        body = f.read()
    if len(body) != header["bytes"] or f"{zlib.crc32(body):08x}" != header["crc32"]:
        raise _damaged(path, "its checksum doesn't match its content")
    docs = parse_json(body)
    del body
    if not isinstance(docs, list) or len(docs) != header["count"]:
        raise _damaged(path, "its document count doesn't match its header")
    return int(header["version"]), docs


def _header(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(raw)
        if header["format"] != FORMAT:
            raise StoreError(
                f"{path} has format {header['format']!r}, which this Hearth can't read; "
                "update Hearth"
            )
        if not isinstance(header["version"], int) or header["version"] < 0:
            raise ValueError("bad version")
    except (ValueError, KeyError, TypeError):
        raise _damaged(path, "its header is unreadable") from None
    return dict(header)


def _damaged(path: Path, why: str) -> StoreError:
    return StoreError(
        f"the snapshot {path} is damaged ({why}); nothing was changed. Restore this "
        "collection from a backup, or move the folder away to start it empty"
    )
