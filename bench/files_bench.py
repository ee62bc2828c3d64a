"""File-serving benchmark: Hearth's WebDAV against nginx and rclone, on loopback, in one run.

    python bench/files_bench.py [--size-mib 1024] [--upload-mib 2048] [--seconds 10]
                                [--propfinds 50] [--dir DIR]

Peers, started by this script as subprocesses on free loopback ports:
- Debian's nginx, one worker (Hearth is one process), `sendfile on`, the dav module
  for PUT, its root a folder beside Hearth's that holds the same files (the big one
  hard-linked, so both send the very same cached pages);
- `rclone serve webdav` on Hearth's own files/ folder, with a user and password as
  Hearth has, for PROPFIND.

Measures:
1. GET of a 1 GiB file (curl into /dev/null), MB/s, best of 3;
2. PUT of the same file (curl -T), MB/s, best of 3; Hearth answers only once the
   file is hashed and fsynced, nginx writes to the page cache and answers: a second
   peer row adds fsyncing nginx's file (and its folder) after its answer;
3. GETs of a 4 KiB file, 8 keep-alive connections (wrk), requests/s; nginx without
   authentication, Hearth checking every request's Basic password;
4. PROPFIND Depth 1 on a folder of 1,000 files, median latency over N, each server
   answered N times in turns on one keep-alive connection;
5. Hearth's VmRSS every 0.2 s during a 2 GiB PUT: start, max, end.

Files are served from the page cache (they are read once first): the figures are
what each server adds, not the disk's speed; PUTs do reach the disk. The work
folder must be on a real disk, not tmpfs; it and every server are removed at the
end, also on failure or Ctrl-C. Needs: nginx (with the dav module: nginx-core),
rclone, wrk, curl (apt-get install nginx rclone wrk curl).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from daemon_bench import HEARTH, free_port, rss_mib

USER = "bench"
MIB = 1 << 20
LISTED = 1000  # entries of the PROPFIND folder
SMALL = 4096
PROPFIND_BODY = b"""<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:getlastmodified/>
<D:getcontentlength/><D:resourcetype/><D:getcontenttype/><D:getetag/></D:prop></D:propfind>
"""  # what sync clients such as rclone ask for a folder
NGINX_CONF = """\
daemon off;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        client_max_body_size 0;
        dav_methods PUT DELETE MKCOL COPY MOVE;
        dav_access user:rw group:r all:r;
    }}
}}
"""


# -- servers ------------------------------------------------------------------------

def filesystem(path: Path) -> str:
    """Return the type of the filesystem that holds path (from /proc/mounts)."""
    best, kind = "", "?"
    real = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, fstype = line.split()[:3]
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def make_file(path: Path, size: int) -> None:
    """Write size bytes of incompressible data (one random MiB, repeated)."""
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for offset in range(0, size, MIB):
            out.write(block[:min(MIB, size - offset)])


def wait_port(port: int, proc: subprocess.Popen[bytes], name: str, log: Path) -> None:
    """Wait until a server accepts connections; fail with its log if it died first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_nginx(stack: contextlib.ExitStack, tmp: Path, root: Path) -> int:
    port = free_port()
    conf = tmp / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # else workers can't write in tmp
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, root=root))
    log = tmp / "nginx-error.log"
    proc = subprocess.Popen(["nginx", "-p", str(tmp), "-e", str(log), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(stop, proc)
    wait_port(port, proc, "nginx", log)
    return port


def run_rclone(stack: contextlib.ExitStack, tmp: Path, root: Path, password: str) -> int:
    port = free_port()
    log = tmp / "rclone.log"
    env = {**os.environ, "RCLONE_CONFIG": str(tmp / "rclone.conf")}  # not the user's
    proc = subprocess.Popen(["rclone", "serve", "webdav", str(root), "--read-only",
                             "--addr", f"127.0.0.1:{port}", "--user", USER, "--pass", password,
                             "--log-file", str(log)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(stop, proc)
    wait_port(port, proc, "rclone", log)
    return port


def run_hearth(stack: contextlib.ExitStack, tmp: Path, data: Path) -> tuple[int, int]:
    """Start `hearth serve`, wait for READY=1; return its port and pid.

    Not daemon_bench.start(): the process must be in the stack before waiting, so
    that a daemon that never gets ready is stopped too, and its log kept to show.
    """
    port = free_port()
    sock_path = tmp / "notify.sock"
    notify = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    notify.bind(str(sock_path))
    notify.settimeout(60)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["NOTIFY_SOCKET"] = str(sock_path)
    log = tmp / "hearth.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*HEARTH, "serve", "--data", str(data), "--host", "127.0.0.1",
                                 "--port", str(port), "--https-port", "0"],
                                env=env, stdout=out, stderr=out, cwd=REPO)
    stack.callback(stop, proc)
    try:
        while notify.recv(4096) != b"READY=1":
            pass
    except TimeoutError:
        raise RuntimeError(f"hearth sent no READY=1 in 60 s: {log.read_text()[-2000:]}") from None
    return port, proc.pid


# -- clients ------------------------------------------------------------------------

def curl(args: list[str]) -> tuple[int, float]:
    """Run curl; return the HTTP status and the seconds the transfer took."""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "Expect:",
                          "-w", "%{http_code} %{time_total}", *args],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    status, seconds = out.split()
    return int(status), float(seconds.replace(",", "."))


def best_rates(size: int, transfers: list[Callable[[], float]], runs: int = 3) -> list[float]:
    """Return each transfer's best of `runs`, in MB/s; taken in turns, so that a burst of
    load from elsewhere on the machine falls on all of them alike."""
    best = [0.0] * len(transfers)
    for _ in range(runs):
        for i, transfer in enumerate(transfers):
            best[i] = max(best[i], size / transfer() / 1e6)
    return best


def wrk(url: str, seconds: float, headers: dict[str, str]) -> float:
    """Return requests/s of 8 keep-alive connections; fail if any answer isn't 2xx."""
    flags = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    # One wrk thread: on a 2-core machine the server has the other core to itself.
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds:g}s", *flags, url],
                         capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk on {url} had failed requests:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


class Propfinder:
    """PROPFIND Depth 1 of one folder over one keep-alive connection."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path
        self.headers = {**headers, "Depth": "1", "Content-Type": "application/xml"}

    def once(self) -> float:
        """Return the seconds from sending to the last byte of the answer."""
        began = time.perf_counter()
        self.conn.request("PROPFIND", self.path, PROPFIND_BODY, self.headers)
        reply = self.conn.getresponse()
        body = reply.read()
        took = time.perf_counter() - began
        responses = len(re.findall(rb"<(?:\w+:)?response[\s>]", body))
        if reply.status != 207 or responses != LISTED + 1:
            raise RuntimeError(f"PROPFIND {self.path} on port {self.conn.port}: "
                               f"{reply.status}, {responses} responses")
        return took


def propfind_medians(finders: list[Propfinder], n: int) -> list[float]:
    """Return each server's median latency (s), the servers asked in turns."""
    for finder in finders:
        for _ in range(3):
            finder.once()  # warm: connection, listing caches
    times: list[list[float]] = [[] for _ in finders]
    for _ in range(n):
        for finder, seen in zip(finders, times):
            seen.append(finder.once())
    return [statistics.median(seen) for seen in times]


async def upload_rss(url: str, headers: dict[str, str], size: int, pid: int
                     ) -> tuple[float, float, float, float]:
    """PUT size bytes while sampling the server's VmRSS each 0.2 s: (start, max, end, MB/s)."""
    block = os.urandom(MIB)

    async def body() -> AsyncIterator[bytes]:
        for offset in range(0, size, MIB):
            yield block[:min(MIB, size - offset)]

    samples = [rss_mib(pid)]

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.2)
            samples.append(rss_mib(pid))

    sampler = asyncio.create_task(sample())
    began = time.perf_counter()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http, \
                http.put(url, data=body(),
                         headers={**headers, "Content-Length": str(size)}) as reply:
            if reply.status not in (201, 204):
                raise RuntimeError(f"PUT {url}: {reply.status} {await reply.text()}")
    finally:
        took = time.perf_counter() - began
        sampler.cancel()
    await asyncio.sleep(0.5)
    samples.append(rss_mib(pid))
    return samples[0], max(samples), samples[-1], size / took / 1e6


# -- the run ------------------------------------------------------------------------

def prepare(data: Path, peer: Path, size: int) -> str:
    """Lay the files out for Hearth (data/files) and nginx (peer); return the app password."""
    added = subprocess.run([*HEARTH, "device", "add", USER, "--data", str(data)],
                           capture_output=True, text=True, check=True, cwd=REPO)
    password = added.stdout.strip().splitlines()[-1]
    files = data / "files"
    (files / "list").mkdir(parents=True)
    peer.mkdir()
    make_file(files / "big.bin", size)
    os.link(files / "big.bin", peer / "big.bin")
    (files / "small.bin").write_bytes(os.urandom(SMALL))
    shutil.copy(files / "small.bin", peer / "small.bin")
    for i in range(LISTED):
        (files / "list" / f"photo-{i:04d}.jpg").write_bytes(os.urandom(1024 + i))
    os.sync()  # no writeback of these left to run during the measures
    return password


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def measure(args: argparse.Namespace, tmp: Path) -> list[tuple[str, float, float | None,
                                                            str, str]]:
    """Run every measure; return rows (label, hearth, peer, format, goal)."""
    size = args.size_mib * MIB
    data, peer = tmp / "data", tmp / "peer"
    password = prepare(data, peer, size)
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    auth_header = {"Authorization": f"Basic {token}"}
    rows: list[tuple[str, float, float | None, str, str]] = []
    with contextlib.ExitStack() as stack:
        hport, hpid = run_hearth(stack, tmp, data)
        nport = run_nginx(stack, tmp, peer)
        rport = run_rclone(stack, tmp, data / "files", password)
        hearth, nginx = f"http://127.0.0.1:{hport}/dav", f"http://127.0.0.1:{nport}"
        user = ["-u", f"{USER}:{password}"]

        def get(url: str, extra: list[str]) -> float:
            status, seconds = curl([*extra, url])
            if status != 200:
                raise RuntimeError(f"GET {url}: {status}")
            return seconds

        def put(url: str, extra: list[str], sync: Path | None = None) -> float:
            os.sync()  # each upload starts with no dirty pages left by the one before
            began = time.perf_counter()
            status, seconds = curl([*extra, "-T", str(data / "files" / "big.bin"), url])
            if status not in (201, 204):
                raise RuntimeError(f"PUT {url}: {status}")
            if sync is not None:
                fsync_path(sync)
                fsync_path(sync.parent)
                seconds = time.perf_counter() - began
            return seconds

        # Warm up: the start-up rescan (or the first stat) hashes the files; read them once.
        for url, extra in ((f"{hearth}/big.bin", user), (f"{nginx}/big.bin", []),
                           (f"{hearth}/small.bin", user), (f"{nginx}/small.bin", [])):
            get(url, extra)
        Propfinder(hport, "/dav/list/", auth_header).once()

        print(f"GET {args.size_mib} MiB …", file=sys.stderr)
        h, n = best_rates(size, [lambda: get(f"{hearth}/big.bin", user),
                                 lambda: get(f"{nginx}/big.bin", [])])
        rows.append((f"GET {args.size_mib} MiB file (MB/s, best of 3)", h, n, ",.0f",
                     "≥ 0.9×"))

        print(f"PUT {args.size_mib} MiB …", file=sys.stderr)
        h, n, ns = best_rates(size, [
            lambda: put(f"{hearth}/up.bin", user), lambda: put(f"{nginx}/up.bin", []),
            lambda: put(f"{nginx}/synced.bin", [], sync=peer / "synced.bin")])
        rows.append((f"PUT {args.size_mib} MiB file (MB/s, best of 3)", h, n, ",.0f",
                     "≥ 0.8×"))
        rows.append(("  vs nginx + fsync of its file", h, ns, ",.0f", "(like for like)"))
        for name in ("up.bin", "synced.bin"):
            (peer / name).unlink()

        print(f"4 KiB GETs, 2 × {args.seconds / 2:g} s each …", file=sys.stderr)
        h = n = 0.0
        for _ in range(2):
            h = max(h, wrk(f"{hearth}/small.bin", args.seconds / 2, auth_header))
            n = max(n, wrk(f"{nginx}/small.bin", args.seconds / 2, {}))
        rows.append(("4 KiB GETs/s, 8 connections (wrk, best of 2)", h, n, ",.0f", "≥ 0.3×"))

        print(f"PROPFIND × {args.propfinds} …", file=sys.stderr)
        h, r = propfind_medians([Propfinder(hport, "/dav/list/", auth_header),
                                 Propfinder(rport, "/list/", auth_header)], args.propfinds)
        rows.append((f"PROPFIND 1, {LISTED} entries (ms, median; peer rclone)",
                     h * 1000, r * 1000, ",.1f", "≤ 1×"))

        print(f"PUT {args.upload_mib} MiB, sampling RSS …", file=sys.stderr)
        os.sync()
        begin, peak, end, rate = asyncio.run(upload_rss(
            f"{hearth}/memory.bin", auth_header,
            args.upload_mib * MIB, hpid))
        rows.append((f"RSS during a {args.upload_mib} MiB PUT: start (MiB)", begin, None,
                     ",.1f", ""))
        rows.append(("  max (MiB)", peak, None, ",.1f", ""))
        rows.append(("  end (MiB)", end, None, ",.1f", ""))
        rows.append(("  max − start (MiB)", peak - begin, None, ",.1f", "< 20 MiB"))
        rows.append(("  upload speed (MB/s, aiohttp client)", rate, None, ",.0f", ""))
    return rows


def report(rows: list[tuple[str, float, float | None, str, str]]) -> None:
    print(f"{'measure':<48}{'hearth':>10}{'peer':>10}{'ratio':>8}  goal")
    for label, ours, theirs, fmt, goal in rows:
        peer = f"{theirs:>10{fmt}}" if theirs is not None else f"{'':>10}"
        ratio = f"{ours / theirs:>7.2f}×" if theirs else f"{'':>8}"
        print(f"{label:<48}{ours:>10{fmt}}{peer}{ratio}  {goal}")


def describe(where: Path) -> str:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return (f"{os.cpu_count()} cores ({cpu}), work folder on {filesystem(where)}, "
            f"{time.strftime('%Y-%m-%d %H:%M')}, load average (1 min) {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024,
                        help="size of the GET and PUT file (default 1024)")
    parser.add_argument("--upload-mib", type=int, default=2048,
                        help="size of the upload during which memory is sampled (default 2048)")
    parser.add_argument("--seconds", type=float, default=10,
                        help="wrk time per server, in two turns (default 10)")
    parser.add_argument("--propfinds", type=int, default=50,
                        help="PROPFINDs per server (default 50)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to work (default: the temporary folder); a real disk")
    args = parser.parse_args()
    missing = [tool for tool in ("nginx", "rclone", "wrk", "curl") if not shutil.which(tool)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install nginx rclone wrk curl")
    # A SIGTERM unwinds like Ctrl-C, so the servers stop and the work folder goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="files-bench-") as name:
        tmp = Path(name)
        if filesystem(tmp) in ("tmpfs", "ramfs"):
            sys.exit(f"{tmp} is in memory ({filesystem(tmp)}): give --dir on a real disk")
        print(describe(tmp))
        rows = measure(args, tmp)
        report(rows)
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
