"""Compression only where it pays: a sample decides, zstd when installed, else zlib."""
from __future__ import annotations

import importlib
import zlib
from typing import Any

from appliance.backup.engine.backuperrors import BackupError

_zstd: Any
try:  # optional: 3-5 times faster than zlib for a better ratio; restore then needs it too
    _zstd = importlib.import_module("zstandard")
except ImportError:  # pragma: no cover - depends on what is installed
    _zstd = None
_DAMAGED: tuple[type[Exception], ...] = (zlib.error,) + ((_zstd.ZstdError,) if _zstd else ())

STORED = 0
ZLIB = 1
ZSTD = 2
NAMES = {STORED: "stored", ZLIB: "zlib", ZSTD: "zstd"}
SAMPLE = 8192
_SAMPLE_RATIO = 0.9  # a sample that doesn't shrink by 10% means the data is already packed
_KEEP_RATIO = 0.95
_SMALL = 64
# Formats that are compressed already: not even sampled.
PACKED_SUFFIXES = frozenset({
    "jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "avif", "mp4", "m4v", "mov", "mkv",
    "webm", "avi", "mp3", "m4a", "aac", "ogg", "opus", "flac", "zip", "gz", "tgz", "bz2", "xz",
    "zst", "7z", "rar", "jar", "apk", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"})


class Compressor:
    """Compresses with the best codec here; one per thread (zstd contexts aren't shared)."""

    def __init__(self) -> None:
        self.codec = ZSTD if _zstd is not None else ZLIB
        self._zstd: Any = _zstd.ZstdCompressor(level=3) if _zstd is not None else None

    def _compress(self, data: Any) -> bytes:
        if self._zstd is not None:
            return bytes(self._zstd.compress(data))
        return zlib.compress(data, 1)

    def pack(self, data: Any) -> tuple[int, Any]:
        """Return (codec, payload): the data compressed if that saves space, else as is."""
        size = len(data)
        if size < _SMALL:
            return STORED, data
        if size > 2 * SAMPLE:
            middle = size // 2
            sample = data[middle:middle + SAMPLE]
            if len(self._compress(sample)) > _SAMPLE_RATIO * SAMPLE:
                return STORED, data
        packed = self._compress(data)
        if len(packed) > _KEEP_RATIO * size:
            return STORED, data
        return self.codec, packed


def unpack(codec: int, payload: bytes) -> bytes:
    """Return the data a payload holds, given its codec; ValueError if it can't be read."""
    if codec == STORED:
        return payload
    if codec == ZSTD and _zstd is None:
        raise BackupError("this repository holds zstd-compressed data: install the "
                          "zstandard Python package (Debian: python3-zstandard) to read it")
    try:
        if codec == ZLIB:
            return zlib.decompress(payload)
        if codec == ZSTD:
            return bytes(_zstd.ZstdDecompressor().decompress(payload))
    except _DAMAGED as exc:
        raise ValueError(f"can't decompress: {exc}") from None
    raise ValueError(f"unknown codec {codec}")
