"""Trees: one JSON blob per folder listing its entries, so unchanged folders dedup whole."""
from __future__ import annotations

import json
import os
import stat
from typing import Any

from appliance.backup.engine.backuperrors import Unreadable

FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
Entry = dict[str, Any]


def file_entry(name: str, st: os.stat_result, chunks: list[str], size: int) -> Entry:
    """Return the entry of a regular file of `size` bytes stored as chunks (hex ids)."""
    return {"name": name, "type": FILE, "mode": stat.S_IMODE(st.st_mode),
            "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "size": size,
            "chunks": chunks}


def dir_entry(name: str, st: os.stat_result, tree: str) -> Entry:
    """Return the entry of a folder whose content is the tree blob `tree`."""
    return {"name": name, "type": DIR, "mode": stat.S_IMODE(st.st_mode),
            "mtime_ns": st.st_mtime_ns, "tree": tree}


def symlink_entry(name: str, st: os.stat_result, target: str) -> Entry:
    """Return the entry of a symbolic link (never followed)."""
    return {"name": name, "type": SYMLINK, "mtime_ns": st.st_mtime_ns, "target": target}


def unchanged(entry: Entry | None, st: os.stat_result) -> bool:
    """Tell whether a file looks the same as when entry was made (size, mtime, ctime)."""
    return (entry is not None and entry["type"] == FILE and entry["size"] == st.st_size
            and entry["mtime_ns"] == st.st_mtime_ns and entry["ctime_ns"] == st.st_ctime_ns)


def encode(entries: list[Entry]) -> bytes:
    """Return a tree blob's JSON: entries sorted by name, so equal folders give equal bytes."""
    ordered = sorted(entries, key=lambda e: str(e["name"]))
    return json.dumps({"entries": ordered}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> list[Entry]:
    """Return the entries of a tree blob; Unreadable if it isn't one."""
    try:
        entries = json.loads(data)["entries"]
        for entry in entries:
            if not isinstance(entry["name"], str) or entry["type"] not in (FILE, DIR, SYMLINK):
                raise ValueError("bad entry")
            if "/" in entry["name"] or entry["name"] in ("", ".", ".."):
                raise ValueError("bad name")
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"not a tree: {exc}") from None
    return list(entries)
