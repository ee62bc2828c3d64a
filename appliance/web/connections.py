"""Connections rationed: headers in time, and fewer connections than the process has descriptors.

A client that opens a connection and never finishes its request would otherwise hold
a descriptor for an hour (aiohttp's keep-alive default). A thousand of them took every
descriptor: the box stopped answering, even /healthz, and asyncio logged each failed
accept. Here a connection must send its first request's headers within
HEADER_TIMEOUT seconds and stay idle between requests at most KEEPALIVE_TIMEOUT; and
when the connections reach the cap, the oldest one with no request being answered is
closed to make room (a browser opens another when it needs one), or, if every one is
busy, the new one is closed at once.
"""
from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0
KEEPALIVE_TIMEOUT = 15.0
DESCRIPTORS_KEPT = 320  # the store, disks, helper, connectors, logs, and a burst of accepts
# (asyncio accepts up to the backlog, 128, at once, before any of them can be refused)
MOST_CONNECTIONS = 4096


def connection_cap() -> int:
    """Return how many connections to hold at most: the descriptor limit less a reserve."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MOST_CONNECTIONS
    return max(16, min(MOST_CONNECTIONS, soft - DESCRIPTORS_KEPT))


class _Connection(web.RequestHandler):
    """One client connection, closed if its first request's headers are late."""

    __slots__ = ("opened", "_deadline")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the header deadline, and make room (or refuse) at the cap."""
        self.opened = self._loop.time()
        gate = self._manager
        if isinstance(gate, ConnectionGate) and not gate.make_room():
            transport.close()  # every connection is busy: this one waits for none of them
            self._manager = None  # connection_lost has nothing to undo
            return
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = self._loop.call_later(
            HEADER_TIMEOUT, self._headers_late)

    def _headers_late(self) -> None:
        self._deadline = None
        if not self.requests_started:
            self.force_close()

    @property
    def requests_started(self) -> int:
        """Return how many requests' headers arrived on this connection."""
        return int(self._request_count)

    @property
    def busy(self) -> bool:
        """Return whether a request is being answered on this connection."""
        return self._current_request is not None

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop the header deadline and let the gate forget the connection."""
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
        super().connection_lost(exc)


class ConnectionGate(web.Server):
    """aiohttp's server, with the header deadline and a cap on connections."""

    def __init__(self, *args: Any, cap: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.refused = 0

    def __call__(self) -> web.RequestHandler:
        """Return the protocol of a new connection."""
        return _Connection(self, loop=self._loop, **self._kwargs)

    def make_room(self) -> bool:
        """Close the oldest idle connection if at the cap; return whether one more fits."""
        held = [c for c in self.connections if isinstance(c, _Connection)]
        if len(held) < self.cap:
            return True
        idle = [c for c in held if not c.busy]
        if not idle:
            self.refused += 1
            return False
        oldest = min(idle, key=lambda c: c.opened)
        oldest.force_close()
        self._connections.pop(oldest, None)  # its descriptor is closed now
        return True


class GatedRunner(web.AppRunner):
    """An AppRunner whose connections go through a ConnectionGate."""

    def __init__(self, app: web.Application, *, cap: int, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=KEEPALIVE_TIMEOUT, **kwargs)
        self._cap = cap

    async def _make_server(self) -> web.Server:
        # aiohttp's own, made the way Application._make_handler makes it, then gated
        plain = await super()._make_server()
        return ConnectionGate(plain.request_handler, request_factory=plain.request_factory,
                              handler_cancellation=plain.handler_cancellation,
                              loop=asyncio.get_running_loop(), cap=self._cap,
                              **plain._kwargs)
