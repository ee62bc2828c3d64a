"""Daemon benchmark: time to READY and resident memory, idle and after 1,000 API requests.

Peer in the same run: a bare aiohttp "hello" server started the same way, so the
figures say what Hearth adds on top of the framework it stands on.

    python bench/daemon_bench.py [--requests 1000]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HEARTH = [sys.executable, "-m", "appliance.cli"]
BARE = """
import asyncio, os, socket
from aiohttp import web
async def hello(request): return web.json_response({"ok": True})
async def main():
    app = web.Application(); app.router.add_get("/healthz", hello)
    runner = web.AppRunner(app); await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["PORT"])).start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
    await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start(argv: list[str], tmp: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server and return it with the seconds it took to send READY=1."""
    sock_path = tmp / f"notify-{port}.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(sock_path))
    notify.settimeout(30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(NOTIFY_SOCKET=str(sock_path), PORT=str(port))
    began = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    while notify.recv(4096) != b"READY=1":
        pass
    took = time.monotonic() - began
    notify.close()
    return proc, took


async def hammer(url: str, token: str, n: int) -> float:
    """Send n data API requests (create, read, find) from 8 clients; return requests/s."""
    headers = {"Authorization": f"Bearer {token}"}
    counter = iter(range(n))

    async def client(http: aiohttp.ClientSession) -> None:
        for i in counter:
            kind = i % 3
            if kind == 0:
                async with http.post(f"{url}/data/io.hearth.bench/",
                                     json={"i": i, "label": "x" * 64}, headers=headers) as r:
                    assert r.status == 201, await r.text()
            elif kind == 1:
                async with http.post(f"{url}/data/io.hearth.bench/_find",
                                     json={"selector": {"i": i - 1}}, headers=headers) as r:
                    assert r.status == 200
            else:
                async with http.get(f"{url}/healthz") as r:
                    assert r.status == 200
    began = time.monotonic()
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(8)))
    return n / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data"
        token = subprocess.run([*HEARTH, "token", "create", "--data", str(data), "--scope",
                                "io.hearth.bench"], capture_output=True, text=True,
                               check=True).stdout.strip()
        port = free_port()
        hearth, hearth_ready = start([*HEARTH, "serve", "--data", str(data), "--host",
                                      "127.0.0.1", "--port", str(port), "--https-port",
                                      str(free_port())], tmp, port)
        bare_port = free_port()
        bare, bare_ready = start([sys.executable, "-c", BARE], tmp, bare_port)
        try:
            time.sleep(1.0)
            idle, bare_idle = rss_mib(hearth.pid), rss_mib(bare.pid)
            rate = asyncio.run(hammer(f"http://127.0.0.1:{port}", token, args.requests))
            time.sleep(0.5)
            busy = rss_mib(hearth.pid)
        finally:
            for proc in (hearth, bare):
                proc.terminate()
                proc.wait(10)
    print(f"{'':34} {'hearth':>9} {'bare aiohttp':>13} {'ratio':>7}")
    print(f"{'start to READY=1 (s)':34} {hearth_ready:9.2f} {bare_ready:13.2f} "
          f"{hearth_ready / bare_ready:7.2f}")
    print(f"{'RSS idle (MiB)':34} {idle:9.1f} {bare_idle:13.1f} {idle / bare_idle:7.2f}")
    print(f"{f'RSS after {args.requests} API requests (MiB)':34} {busy:9.1f}")
    print(f"{'API requests/s (8 clients)':34} {rate:9.0f}")
    print("goal: RSS idle <= 45 MiB on x86-64")


if __name__ == "__main__":
    main()
