"""The DAV:response of each file a PROPFIND describes, kept as text between requests.

Sync clients list the same folders again and again, and a folder of a thousand
files took two thirds of its PROPFIND writing the same XML as last time. A
fragment is kept under the whole FileEntry it describes (path, ETag, dates,
size…) and the properties asked for: any change to the file gives a new key,
so a kept fragment can never be stale, only unused, and the oldest go first
(first in, first out: a hit costs one lookup, and a folder still listed is
written again once after its fragments went).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

from appliance.files import FileEntry

logger = logging.getLogger(__name__)

KEPT = 4096  # fragments of about 0.5 KiB: a few big folders, a couple of MiB at most


class Fragments:
    """A bounded, first-in-first-out store of DAV:response texts by (question, entry)."""

    def __init__(self, size: int = KEPT) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[Hashable, FileEntry], str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, question: Hashable, entry: FileEntry,
            write: Callable[[FileEntry], str]) -> str:
        """Return the kept fragment for this entry and question, written now if there is none."""
        key = (question, entry)
        text = self._kept.get(key)
        if text is not None:
            return text
        text = self._kept[key] = write(entry)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return text
