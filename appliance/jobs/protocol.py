"""The JSON lines a connector run sends and receives, and how the daemon checks them.

Runner → daemon, one JSON object per line: `hello`, `log`, `record`, `file` then
its `chunk`s (base64) then `file_end`, `question`, `session`, `error`, `done`.
Daemon → runner: one `start` line, then `answer` lines.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

MAX_LINE = 256 * 1024  # bytes in one line; a longer one is a flood
CHUNK = 48 * 1024  # bytes of a file per chunk line (64 KiB once in base64)
MAX_TEXT = 2000  # characters kept of a log line or a message
LEVELS = ("debug", "info", "warning", "error")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CODE = re.compile(r"^[A-Z_]{2,40}(\.[A-Z0-9_]{1,40})?$")

_REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "hello": {},
    "log": {"message": str},
    "record": {"doctype": str, "data": dict},
    "file": {"name": str},
    "chunk": {"data": str},
    "file_end": {"sha256": str, "size": int},
    "question": {"id": str, "prompt": str},
    "session": {"sealed": (str, type(None))},
    "error": {"code": str},
    "done": {},
}
TERMINAL = ("error", "done")


class ProtocolError(Exception):
    """A line from a connector is not a message; the text says what was wrong."""


def _short(line: bytes) -> str:
    text = line[:80].decode("utf-8", "replace")
    return text + ("…" if len(line) > 80 else "")


def parse(line: bytes) -> dict[str, Any]:
    """Return the message a line holds, or raise ProtocolError naming the problem."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"sent something that is not a JSON message: {_short(line)!r}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"sent a message without a type: {_short(line)!r}")
    kind = message["type"]
    if kind not in _REQUIRED:
        raise ProtocolError(f"sent a message of unknown type {kind[:40]!r}")
    for name, wanted in _REQUIRED[kind].items():
        if not isinstance(message.get(name), wanted) or isinstance(message.get(name), bool):
            raise ProtocolError(f"sent a {kind} message without a valid '{name}'")
    if kind == "log" and message.get("level", "info") not in LEVELS:
        raise ProtocolError(f"sent a log line of unknown level {str(message['level'])[:20]!r}")
    if kind == "file_end" and not _SHA256.match(message["sha256"]):
        raise ProtocolError("sent a file whose sha256 is not 64 lowercase hex digits")
    if kind == "error" and not _CODE.match(message["code"]):
        raise ProtocolError(f"sent an error with a malformed code {message['code'][:50]!r}")
    return message


def chunk_bytes(message: dict[str, Any]) -> bytes:
    """Return the bytes a chunk message carries."""
    try:
        return base64.b64decode(message["data"], validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("sent a file chunk that is not base64") from None


def encode(message: dict[str, Any]) -> bytes:
    """Return a message as one JSON line."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def clip(text: object, limit: int = MAX_TEXT) -> str:
    """Return text cut to `limit` characters, saying so."""
    value = str(text)
    return value if len(value) <= limit else value[:limit] + "…"
