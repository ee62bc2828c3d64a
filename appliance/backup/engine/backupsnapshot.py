"""Snapshots: when, from where, and the root tree of one backup."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from appliance.backup.engine.backuperrors import Unreadable

FORMAT = 1


@dataclass(frozen=True)
class Snapshot:
    """One backup: its id, time, host, root tree and counts."""

    id: str
    time: float
    host: str
    tree: str
    sources: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    parent: str | None = None
    hearth: str = ""

    @property
    def short_id(self) -> str:
        """Return the first 8 hex digits of the id, as listed."""
        return self.id[:8]

    @property
    def when(self) -> str:
        """Return the time as local YYYY-MM-DD HH:MM:SS."""
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.time))

    def encode(self) -> bytes:
        """Return the snapshot's JSON (the id is the file's name, not in the JSON)."""
        fields = asdict(self)
        del fields["id"]
        return json.dumps({"format": FORMAT, **fields}, sort_keys=True).encode()

    @classmethod
    def decode(cls, snapshot_id: str, data: bytes) -> Snapshot:
        """Return the snapshot a JSON blob describes; Unreadable if it doesn't."""
        try:
            fields: dict[str, Any] = json.loads(data)
            if fields.pop("format") != FORMAT:
                raise ValueError("unknown format")
            return cls(id=snapshot_id, **fields)
        except (ValueError, KeyError, TypeError) as exc:
            raise Unreadable(f"not a snapshot: {exc}") from None
