"""The systemd notifier against a real notify socket, through libsystemd and through our own datagrams."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.platform.systemd import (
    Notifier,
    NullNotifier,
    SystemdNotifier,
    watchdog_loop,
)


class NotifySocket:
    """A SOCK_DGRAM unix socket standing in for systemd's notify socket."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(5)

    def receive(self) -> str:
        """Return the next message sent to the socket."""
        return self.sock.recv(4096).decode()

    def pending(self) -> list[str]:
        """Return the messages already waiting, without blocking."""
        messages = []
        self.sock.setblocking(False)
        try:
            while True:
                messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return messages
        finally:
            self.sock.settimeout(5)


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request: pytest.FixtureRequest, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    """Bind a notify socket (a file, or an abstract @name) and name it in NOTIFY_SOCKET."""
    if request.param == "path":
        address = str(tmp_path / "notify")
    else:
        address = f"@hearth-test-{uuid.uuid4().hex}"
    server = NotifySocket(address)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield server
    server.sock.close()


@pytest.fixture(params=["libsystemd", "socket"])
def transport(request: pytest.FixtureRequest) -> str:
    """Name the way messages travel: systemd.daemon.notify, or our own datagram."""
    if request.param == "libsystemd":
        pytest.importorskip("systemd.daemon", reason="systemd-python is not installed")
    return str(request.param)


def make_notifier(transport: str) -> Notifier:
    """Return the notifier the daemon would build from its environment."""
    notifier = SystemdNotifier.from_environ(libsystemd=transport == "libsystemd")
    assert isinstance(notifier, SystemdNotifier)
    assert notifier.transport == transport
    return notifier


def test_each_message_reaches_systemd(notify_socket: NotifySocket, transport: str) -> None:
    notifier = make_notifier(transport)
    notifier.ready()
    notifier.status("serving 3 services")
    notifier.watchdog()
    notifier.stopping()
    assert [notify_socket.receive() for _ in range(4)] == [
        "READY=1", "STATUS=serving 3 services", "WATCHDOG=1", "STOPPING=1"]


def test_status_cannot_smuggle_other_assignments(notify_socket: NotifySocket,
                                                 transport: str) -> None:
    make_notifier(transport).status("disk full\nREADY=1")
    assert notify_socket.receive() == "STATUS=disk full READY=1"


def test_an_environment_other_than_the_process_one_is_honoured(
        notify_socket: NotifySocket, tmp_path: Path) -> None:
    other = NotifySocket(str(tmp_path / "other"))
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": other.address})
    notifier.ready()
    assert other.receive() == "READY=1"
    assert notify_socket.pending() == []
    other.sock.close()


def test_no_notify_socket_gives_a_null_notifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = SystemdNotifier.from_environ({"WATCHDOG_USEC": "400000"})
    assert isinstance(notifier, NullNotifier)
    notifier.ready()
    notifier.status("ignored")
    notifier.watchdog()
    notifier.stopping()
    assert notifier.watchdog_interval() is None


@pytest.mark.parametrize("libsystemd", [True, False])
def test_a_dead_socket_is_logged_once_and_never_raises(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        libsystemd: bool) -> None:
    address = str(tmp_path / "gone" / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    notifier = SystemdNotifier.from_environ(libsystemd=libsystemd)
    with caplog.at_level(logging.WARNING, logger="appliance.platform.systemd"):
        notifier.ready()
        notifier.watchdog()
        notifier.status("still here")
        notifier.stopping()
    assert len(caplog.records) == 1
    assert address in caplog.records[0].getMessage()


def test_a_socket_that_comes_back_is_used_again(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    address = str(tmp_path / "notify")
    notifier = SystemdNotifier(address, libsystemd=False)
    with caplog.at_level(logging.INFO, logger="appliance.platform.systemd"):
        notifier.watchdog()
        server = NotifySocket(address)
        notifier.watchdog()
    assert server.receive() == "WATCHDOG=1"
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    server.sock.close()


def test_an_unsupported_address_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier("vsock:2:1234", libsystemd=False)
    notifier.ready()
    assert "unsupported NOTIFY_SOCKET" in caplog.text


@pytest.mark.parametrize(("environ", "expected"), [
    ({"WATCHDOG_USEC": "400000"}, 0.2),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
    ({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
    ({"WATCHDOG_PID": str(os.getpid())}, None),
    ({}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({"WATCHDOG_USEC": "0"}, None),
])
def test_watchdog_interval_is_half_of_watchdog_usec(
        environ: dict[str, str], expected: float | None) -> None:
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": "@unused", **environ})
    assert notifier.watchdog_interval() == expected


async def test_watchdog_loop_pings_once_per_interval(notify_socket: NotifySocket,
                                                     transport: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    notifier = make_notifier(transport)
    asked: asyncio.Queue[float] = asyncio.Queue()
    ticks: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(seconds: float) -> None:  # the loop's clock: it waits for the test
        asked.put_nowait(seconds)
        await ticks.get()

    task = asyncio.create_task(watchdog_loop(notifier, sleep=sleep))
    try:
        for _ in range(4):
            # One ping, then a wait of half of WATCHDOG_USEC; no second ping before it ends.
            assert await asyncio.wait_for(asked.get(), 5) == 0.2
            assert notify_socket.pending() == ["WATCHDOG=1"]
            ticks.put_nowait(None)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_watchdog_loop_returns_at_once_without_a_watchdog() -> None:
    assert await asyncio.wait_for(watchdog_loop(NullNotifier()), 1) is None  # no hang


def test_without_systemd_python_the_datagram_is_sent_directly(notify_socket: NotifySocket) -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["systemd.daemon"] = None  # as on a laptop without systemd-python
        from appliance.platform.systemd import SystemdNotifier
        notifier = SystemdNotifier.from_environ()
        print(notifier.transport)
        notifier.ready()
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout == "socket\n"
    assert notify_socket.receive() == "READY=1"
