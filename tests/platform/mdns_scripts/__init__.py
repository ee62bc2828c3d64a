"""Helper processes for the mDNS tests: each runs inside a network namespace and answers
JSON commands read one per line on stdin with one JSON line on stdout."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[..., Awaitable[dict[str, Any]]]


async def serve(handlers: dict[str, Handler]) -> None:
    """Answer commands until stdin closes; {"do": NAME, ...} calls handlers[NAME](...).

    Every reply carries the seconds the command took.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    while line := await asyncio.to_thread(sys.stdin.readline):
        command = json.loads(line)
        began = time.monotonic()
        try:
            reply = await handlers[command.pop("do")](**command)
            reply["seconds"] = round(time.monotonic() - began, 3)
        except Exception as exc:  # the test shows it with this process's stderr
            traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
