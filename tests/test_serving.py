"""`hearth serve` as systemd runs it: READY once serving, watchdog, SIGTERM, one writer."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from appliance.core import open_core
from appliance.settings import load_settings
from tests.cli.shell import HEARTH, hearth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """A `hearth serve` process with a NOTIFY_SOCKET the test reads."""

    def __init__(self, data: Path, tmp: Path, *, watchdog_usec: int = 400_000,
                 https_port: int = 0, nofile: int | None = None) -> None:
        self.port = free_port()
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        path = tmp / "notify.sock"
        self.notify.bind(str(path))
        self.notify.settimeout(10)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        env.update(NOTIFY_SOCKET=str(path), WATCHDOG_USEC=str(watchdog_usec))
        self.log = tmp / "daemon.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [*HEARTH, "serve", "--data", str(data), "--host", "127.0.0.1", "--port",
                 str(self.port), "--https-port", str(https_port)], env=env, stderr=log,
                preexec_fn=None if nofile is None else
                lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
        self.url = f"http://127.0.0.1:{self.port}"

    def messages(self) -> Iterator[tuple[float, str]]:
        """Yield each notify message with the time it arrived."""
        while True:
            data = self.notify.recv(4096).decode()
            yield time.monotonic(), data

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.notify.close()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "data", tmp_path)
    yield d
    d.close()


def test_ready_only_once_serving_then_watchdog(daemon: Daemon) -> None:
    messages = daemon.messages()
    seen = []
    for _, message in messages:
        seen.append(message)
        if message == "READY=1":
            # The port must already answer when READY arrives.
            with socket.create_connection(("127.0.0.1", daemon.port), timeout=1):
                pass
            break
    assert any(m.startswith("STATUS=Serving") for m in seen)
    pings = []
    for when, message in messages:
        if message == "WATCHDOG=1":
            pings.append(when)
        if len(pings) == 3:
            break
    # WATCHDOG_USEC=0.4 s: pings every 0.2 s, so three come well within the limit.
    assert pings[-1] - pings[0] < 0.8


def test_cli_refuses_a_folder_the_daemon_holds(daemon: Daemon, tmp_path: Path) -> None:
    for _, message in daemon.messages():
        if message == "READY=1":
            break
    result = hearth("token", "list", data=tmp_path / "data")
    assert result.returncode == 1
    assert f"a running Hearth (pid {daemon.proc.pid}) holds" in result.stderr
    assert "web interface" in result.stderr
    assert result.stderr.count("systemctl stop hearth") == 1  # the advice, given once
    run = hearth("connector", "run", "bank-statements", "--field", "path=/", data=tmp_path / "data")
    said = json.loads(run.stdout.splitlines()[-1])
    assert run.returncode == 1 and said["error"] == "STORE_LOCKED"
    assert said["message"].count("systemctl stop hearth") == 1


def test_invalid_settings_stop_start_up(tmp_path: Path) -> None:
    config = tmp_path / "hearth.toml"
    config.write_text("port = 'eighty'\n")
    env = {**os.environ, "HEARTH_CONFIG": str(config)}
    result = subprocess.run([*HEARTH, "serve", "--data", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "setting 'port'" in result.stderr


async def _writer(url: str, token: str, acked: list[str], stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                async with http.post(f"{url}/data/io.hearth.test.load/", json={"n": n},
                                     headers=headers) as resp:
                    if resp.status == 201:
                        acked.append((await resp.json())["id"])
            except aiohttp.ClientError:
                return


def test_sigterm_stops_within_5s_keeping_every_acknowledged_write(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    hearth("token", "list", data=data)  # creates the folder
    made = hearth("token", "create", "--scope", "io.hearth.test.load", data=data)
    token = made.stdout.strip()
    daemon = Daemon(data, tmp_path)
    try:
        for _, message in daemon.messages():
            if message == "READY=1":
                break
        acked: list[str] = []

        async def load() -> float:
            stop = asyncio.Event()
            writers = [asyncio.create_task(_writer(daemon.url, token, acked, stop))
                       for _ in range(16)]
            await asyncio.sleep(1.0)
            daemon.proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            await asyncio.to_thread(daemon.proc.wait, 10)
            took = time.monotonic() - sent
            stop.set()
            await asyncio.gather(*writers)
            return took
        took = asyncio.run(load())
        assert daemon.proc.returncode == 0, daemon.log.read_text()
        assert took < 5.0
        stopping = [m for _, m in _drain(daemon.notify)]
        assert "STOPPING=1" in stopping
    finally:
        daemon.close()
    assert len(acked) > 50

    async def stored() -> set[str]:
        core = await open_core(load_settings({"data": str(data)}, environ={}))
        try:
            coll = await core.store.collection("io.hearth.test.load")
            return {d["_id"] for d in coll.all()}
        finally:
            await core.close()
    assert set(acked) <= asyncio.run(stored())


def _drain(sock: socket.socket) -> Iterator[tuple[float, str]]:
    sock.settimeout(0.2)
    while True:
        try:
            yield time.monotonic(), sock.recv(4096).decode()
        except (TimeoutError, socket.timeout):
            return


def test_logs_go_to_stderr_outside_systemd(daemon: Daemon) -> None:
    for _, message in daemon.messages():
        if message == "READY=1":
            break
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.wait(timeout=10)
    err = daemon.log.read_text()
    assert "serves http://127.0.0.1:" in err and "stopped" in err


def test_socket_activation_serves_on_the_passed_socket(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    with (tmp_path / "log").open("w") as log:
        proc = subprocess.Popen(
            ["systemd-socket-activate", "--listen", f"127.0.0.1:{port}",
             "--fdname", "http", *HEARTH, "serve", "--data", str(tmp_path / "data"),
             "--port", "1", "--https-port", "0"],  # never used: the passed socket is
            env=env, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:  # systemd-socket-activate starts hearth on the first connection
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    conn.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    reply = conn.recv(4096)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "log").read_text()
                time.sleep(0.2)
        assert b"200 OK" in reply and b'"status": "ok"' in reply
    finally:
        proc.terminate()
        proc.wait(10)
    assert "sockets systemd passed" in (tmp_path / "log").read_text()


def test_https_with_the_box_own_authority(tmp_path: Path) -> None:
    https_port = free_port()
    daemon = Daemon(tmp_path / "data", tmp_path, https_port=https_port)
    try:
        for _, message in daemon.messages():
            if message == "READY=1":
                break
        ca = tmp_path / "data" / "system" / "tls" / "ca.pem"
        assert oct(ca.parent.stat().st_mode & 0o777) == "0o700"
        assert oct((ca.parent / "server.key").stat().st_mode & 0o777) == "0o600"
        trust = ssl.create_default_context(cafile=str(ca))
        with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw, \
                trust.wrap_socket(raw, server_hostname="hearth.local") as tls:
            tls.sendall(b"GET /https HTTP/1.0\r\nHost: hearth.local\r\n\r\n")
            page = b""
            while chunk := tls.recv(65536):
                page += chunk
        assert b"200 OK" in page and b'data-testid="fingerprint"' in page
        with urllib.request.urlopen(f"{daemon.url}/https/hearth-ca.crt", timeout=5) as reply:
            assert reply.headers["Content-Type"] == "application/x-x509-ca-cert"
            assert reply.read() == ca.read_bytes()
        assert f"https on port {https_port}" in daemon.log.read_text()
    finally:
        daemon.close()


def test_an_idle_box_leaves_the_heavy_libraries_unloaded(daemon: Daemon) -> None:
    # cryptography (OpenSSL) and the chunker load for a backup or a certificate,
    # in a child or when the work starts: on a 1 GB Pi the idle daemon stays small.
    for _, message in daemon.messages():
        if message == "READY=1":
            break
    with urllib.request.urlopen(daemon.url + "/welcome", timeout=10) as page:
        assert page.status == 200
    mapped = Path(f"/proc/{daemon.proc.pid}/maps").read_text()
    for library in ("cryptography", "pyfastcdc"):
        assert library not in mapped, f"{library} is loaded by an idle daemon"


def test_half_open_connections_neither_stall_the_box_nor_flood_its_log(tmp_path: Path) -> None:
    # the attack: more unfinished requests than the daemon has descriptors (1,024 here)
    attackers = 1100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < attackers + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, attackers + 200), hard))
    # watchdog pings seldom: nobody reads the notify socket after READY here
    daemon = Daemon(tmp_path / "data", tmp_path, nofile=1024, watchdog_usec=120_000_000)
    opened: list[socket.socket] = []
    try:
        for _, message in daemon.messages():
            if message == "READY=1":
                break
        before = daemon.log.stat().st_size
        for _ in range(attackers):
            sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
            opened.append(sock)
            with contextlib.suppress(OSError):  # the box may close the oldest ones: it should
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wait: ")
        started = time.monotonic()
        with urllib.request.urlopen(daemon.url + "/healthz", timeout=5) as answer:
            assert answer.status == 200
        assert time.monotonic() - started < 2.0
        time.sleep(3)  # what the daemon logs while the attack lasts
        with urllib.request.urlopen(daemon.url + "/healthz", timeout=5) as answer:
            assert answer.status == 200
        logged = daemon.log.stat().st_size - before
        assert logged < 20_000, daemon.log.read_text()[-3000:]
    finally:
        for sock in opened:
            sock.close()
        daemon.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
