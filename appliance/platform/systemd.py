"""Tell systemd how the daemon is doing: readiness, status, stopping and watchdog pings."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

logger = logging.getLogger(__name__)

Sender = Callable[[str], None]


class Notifier(Protocol):
    """What the daemon tells its service manager (systemd's sd_notify protocol).

    Every call is best effort and never raises: a service manager that has gone
    away must not take the daemon down with it. The app sends ``ready()`` last,
    once everything is listening, and ``stopping()`` first, before tearing down.
    """

    def ready(self) -> None:
        """Say that start-up is complete (READY=1)."""

    def stopping(self) -> None:
        """Say that shutdown has begun (STOPPING=1)."""

    def watchdog(self) -> None:
        """Ping the watchdog (WATCHDOG=1)."""

    def status(self, text: str) -> None:
        """Show one line of status in `systemctl status` (STATUS=...)."""

    def watchdog_interval(self) -> float | None:
        """Return the seconds between watchdog pings, or None when no watchdog is asked."""


class NullNotifier:
    """A notifier for when no service manager listens: every call does nothing."""

    def ready(self) -> None:
        """Do nothing."""

    def stopping(self) -> None:
        """Do nothing."""

    def watchdog(self) -> None:
        """Do nothing."""

    def status(self, text: str) -> None:
        """Do nothing."""

    def watchdog_interval(self) -> float | None:
        """Return None: nobody watches."""
        return None


class SystemdNotifier:
    """Send sd_notify messages to the socket systemd named in NOTIFY_SOCKET."""

    def __init__(self, address: str, *, watchdog_interval: float | None = None,
                 libsystemd: bool = True) -> None:
        self.address = address
        self._watchdog_interval = watchdog_interval
        # sd_notify() only reads $NOTIFY_SOCKET, so it can serve only that address.
        library = _libsystemd_sender() if libsystemd else None
        if library is not None and os.environ.get("NOTIFY_SOCKET") == address:
            self.transport = "libsystemd"
            self._send: Sender = library
        else:
            self.transport = "socket"
            self._send = _datagram_sender(address)
        self._failing = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ, *,
                     libsystemd: bool = True) -> Notifier:
        """Return a notifier for the NOTIFY_SOCKET in `environ`, or a NullNotifier without one."""
        address = environ.get("NOTIFY_SOCKET", "")
        if not address:
            return NullNotifier()
        return cls(address, watchdog_interval=watchdog_interval_from(environ),
                   libsystemd=libsystemd)

    def ready(self) -> None:
        """Say that start-up is complete (READY=1)."""
        self._notify("READY=1")

    def stopping(self) -> None:
        """Say that shutdown has begun (STOPPING=1)."""
        self._notify("STOPPING=1")

    def watchdog(self) -> None:
        """Ping the watchdog (WATCHDOG=1)."""
        self._notify("WATCHDOG=1")

    def status(self, text: str) -> None:
        """Show one line of status in `systemctl status` (STATUS=...)."""
        # A newline would start a new assignment, e.g. a stray READY=1.
        self._notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog_interval(self) -> float | None:
        """Return the seconds between watchdog pings, or None when no watchdog is asked."""
        return self._watchdog_interval

    def _notify(self, message: str) -> None:
        try:
            self._send(message)
        except OSError as exc:
            if not self._failing:
                logger.warning("can't notify systemd at %s (%s); the service may be "
                               "restarted by its watchdog or start timeout", self.address, exc)
            self._failing = True
            return
        if self._failing:
            logger.info("notifying systemd at %s works again", self.address)
        self._failing = False


def watchdog_interval_from(environ: Mapping[str, str]) -> float | None:
    """Return half of WATCHDOG_USEC in seconds when the watchdog is meant for this process."""
    usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        value = 0
    if value <= 0:
        logger.warning("ignoring WATCHDOG_USEC=%r: not a positive number of microseconds", usec)
        return None
    return value / 2 / 1_000_000


async def watchdog_loop(notifier: Notifier, *,
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Ping the watchdog every watchdog_interval() seconds until cancelled (`sleep` waits)."""
    interval = notifier.watchdog_interval()
    if interval is None:
        return
    logger.debug("pinging the systemd watchdog every %.3f s", interval)
    while True:
        notifier.watchdog()
        await sleep(interval)


def _libsystemd_sender() -> Sender | None:
    try:
        import systemd.daemon as daemon  # optional: systemd-python is only on the box
    except ImportError:
        return None

    def send(message: str) -> None:
        if not daemon.notify(message):
            raise OSError("NOTIFY_SOCKET is no longer set in the environment")

    return send


def _datagram_sender(address: str) -> Sender:
    if address.startswith("@"):
        target = "\0" + address[1:]  # abstract namespace socket
    elif address.startswith("/"):
        target = address
    else:
        def unsupported(message: str) -> None:
            raise OSError(f"unsupported NOTIFY_SOCKET address {address!r}")
        return unsupported

    def send(message: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), target)

    return send


SD_LISTEN_FDS_START = 3


def listen_sockets(environ: Mapping[str, str] = os.environ) -> dict[str, list[socket.socket]]:
    """Return the listening sockets systemd passed (socket activation), by FileDescriptorName."""
    if environ.get("LISTEN_PID") != str(os.getpid()):
        return {}
    try:
        count = int(environ.get("LISTEN_FDS", "0"))
    except ValueError:
        logger.warning("LISTEN_FDS=%r is not a number; ignoring socket activation",
                       environ.get("LISTEN_FDS"))
        return {}
    names = environ.get("LISTEN_FDNAMES", "").split(":")
    found: dict[str, list[socket.socket]] = {}
    for index in range(count):
        fd = SD_LISTEN_FDS_START + index
        os.set_inheritable(fd, False)  # connector subprocesses must not inherit them
        name = names[index] if index < len(names) and names[index] else "http"
        found.setdefault(name, []).append(socket.socket(fileno=fd))
    return found
