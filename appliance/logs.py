"""Set up logging: structured records to the journal under systemd, concise lines to stderr otherwise.

Convention for structured fields: pass them as ``extra`` with keys prefixed
``hearth_``, e.g. ``logger.info("mounted", extra={"hearth_service": "drive"})``.
In the journal each becomes an upper-case field (``HEARTH_SERVICE=drive``, so
``journalctl HEARTH_SERVICE=drive`` finds it); on stderr it is appended to the
line as ``hearth_service=drive``. Other extras are not shown.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any
from collections.abc import Callable

logger = logging.getLogger(__name__)

FIELD_PREFIX = "hearth_"
LEVELS = ("debug", "info", "warning", "error", "critical")
_HANDLER_NAME = "hearth"
_STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str, *, environ: Mapping[str, str] = os.environ) -> str:
    """Point the root logger at the journal or stderr at `level`; return "journal" or "stderr"."""
    if level.lower() not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    levelno = logging.getLevelNamesMapping()[level.upper()]
    handler = _journal_handler() if environ.get("JOURNAL_STREAM") else None
    destination = "journal"
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(FieldsFormatter(_STDERR_FORMAT))
        destination = "stderr"
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # calling again replaces our handler instead of doubling lines
        old.close()
    root.addHandler(handler)
    root.setLevel(levelno)
    # One line per HTTP request drowns everything else unless we are debugging.
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.NOTSET if levelno == logging.DEBUG else logging.WARNING)
    logger.debug("logging to %s at level %s", destination, level.lower())
    return destination


def hearth_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the record's ``hearth_*`` extras, in the order they were given."""
    return {k: v for k, v in vars(record).items() if k.startswith(FIELD_PREFIX)}


class FieldsFormatter(logging.Formatter):
    """Format a record as usual, then append its ``hearth_*`` extras as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the formatted line with the record's fields appended."""
        line = super().format(record)
        fields = " ".join(f"{k}={_quote(str(v))}" for k, v in hearth_fields(record).items())
        if not fields:
            return line
        # Keep the fields on the first line so a traceback below stays readable.
        first, newline, rest = line.partition("\n")
        return f"{first} {fields}{newline}{rest}"


def _quote(value: str) -> str:
    if value and not any(c.isspace() or c in "\"=" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _journal_handler() -> logging.Handler | None:
    try:
        import systemd.journal as journal  # optional: systemd-python is only on the box
    except ImportError:
        return None

    def send(message: str, /, **fields: Any) -> None:
        # JournalHandler passes every record attribute (one is called `message`,
        # hence positional-only); journald drops the lower-case ones, so keep the
        # real fields and lift hearth_* to HEARTH_*.
        kept = {k.upper() if k.startswith(FIELD_PREFIX) else k: v
                for k, v in fields.items()
                if k.startswith(FIELD_PREFIX) or (k.isupper() and not k.startswith("_"))}
        journal.send(message, **kept)

    handler: logging.Handler = journal.JournalHandler(SYSLOG_IDENTIFIER="hearth",
                                                      sender_function=send)
    return handler


class RepeatLimit(logging.Filter):
    """Let the same message (logger, level, format) through at most `burst` times a `period`.

    A flood of one error (a thousand failed accepts, say) then writes a few lines a
    minute, and the first line let through after a quiet spell says how many were held back.
    """

    def __init__(self, *, burst: int = 5, period: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, most: int = 1000) -> None:
        super().__init__()
        self._burst = burst
        self._period = period
        self._clock = clock
        self._most = most
        self._seen: dict[tuple[str, int, str], tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether to write the record; count it if not."""
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        start, count, held = self._seen.get(key, (now, 0, 0))
        if now - start >= self._period:
            start, count = now, 0
        if count >= self._burst:
            self._seen[key] = (start, count, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} (the same message came {held} more times)"
        if len(self._seen) >= self._most and key not in self._seen:
            self._seen.clear()
        self._seen[key] = (start, count + 1, 0)
        return True
