"""The same log message, repeated a thousand times, writes a few lines."""
from __future__ import annotations

import logging

from appliance.logs import RepeatLimit


def test_a_repeated_message_is_held_back_then_counted() -> None:
    now = [0.0]
    limit = RepeatLimit(burst=3, period=60.0, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, "x", 1, msg, None, None)
    passed = [limit.filter(record("socket.accept() out of system resource")) for _ in range(1000)]
    assert passed.count(True) == 3
    assert limit.filter(record("another message"))
    now[0] = 61.0
    again = record("socket.accept() out of system resource")
    assert limit.filter(again) and "997 more times" in again.getMessage()
