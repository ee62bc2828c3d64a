"""File-serving benchmark: Hearth's WebDAV against nginx and rclone, on loopback, in one run.

    python bench/files_bench.py [--size-mib 1024] [--upload-mib 2048] [--seconds 10]
                                [--propfinds 50] [--dir DIR]

Peers, started by this script as subprocesses on free loopback ports:
- Debian's nginx, one worker (Hearth is one process), `sendfile on`, the dav module
  for PUT, its root a folder beside Hearth's that holds the same files (the big one
  hard-linked, so both send the very same cached pages);
- `rclone serve webdav` on Hearth's own files/ folder, with a user and password as
  Hearth has, for PROPFIND.

Measures (the servers in turns, so that a burst of load from elsewhere on the
machine falls on each alike):
1. GET of a 1 GiB file (curl into /dev/null), MB/s, best of 3;
2. PUT of the same file (curl -T), MB/s, best of 3; Hearth answers only once the
   file is hashed and fsynced, nginx writes to the page cache and answers: a second
   peer row adds fsyncing nginx's file (and its folder) after its answer;
3. GETs of a 4 KiB file, 8 keep-alive connections (wrk, one thread), requests/s,
   best of two 5 s turns; nginx without authentication, Hearth checking every
   request's Basic password;
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
from typing import NamedTuple

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

def curl(args: list[str]) -> tuple[int, int, int, float]:
    """Run curl; return the HTTP status, the bytes sent, received, and the seconds taken."""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "Expect:", "-w",
                          "%{http_code} %{size_upload} %{size_download} %{time_total}", *args],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    status, sent, received, seconds = out.split()
    return int(status), int(sent), int(received), float(seconds.replace(",", "."))


def best_rates(size: int, transfers: list[Callable[[], float]], runs: int = 3) -> list[float]:
    """Return each transfer's best of `runs`, in MB/s, the transfers taken in turns."""
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
    times: list[list[float]] = [[] for _ in finders]
    try:
        for finder in finders:
            for _ in range(3):
                finder.once()  # warm: connection, listing caches
        for _ in range(n):
            for finder, seen in zip(finders, times):
                seen.append(finder.once())
    finally:
        for finder in finders:
            finder.conn.close()
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


class Row(NamedTuple):
    """A line of the table. The goal bounds the ratio, or Hearth's figure when no peer."""

    label: str
    hearth: float
    peer: float | None = None
    fmt: str = ",.0f"
    goal: tuple[str, float, str] | None = None  # (sign, bound, unit of a figure)
    note: str = ""


class Servers(NamedTuple):
    """The three servers of a run and how to reach them."""

    hearth: str  # base URL of /dav
    nginx: str
    hearth_port: int
    hearth_pid: int
    rclone_port: int
    user: list[str]  # curl's flags for Hearth's password
    auth: dict[str, str]  # the same as a header
    source: Path  # the file uploaded
    peer: Path  # nginx's root

    def get(self, url: str, extra: list[str]) -> float:
        status, _, moved, seconds = curl([*extra, url])
        if status != 200 or moved not in (SMALL, self.source.stat().st_size):
            raise RuntimeError(f"GET {url}: {status}, {moved} bytes")
        return seconds

    def put(self, url: str, extra: list[str], sync: Path | None = None) -> float:
        os.sync()  # each upload starts with no dirty pages left by the one before
        began = time.perf_counter()
        status, moved, _, seconds = curl([*extra, "-T", str(self.source), url])
        if status not in (201, 204) or moved != self.source.stat().st_size:
            raise RuntimeError(f"PUT {url}: {status}, {moved} bytes")
        if sync is not None:
            fsync_path(sync)
            fsync_path(sync.parent)
            seconds = time.perf_counter() - began
        return seconds

    def warm(self) -> None:
        """Read every file once: the start-up rescan (or the first stat) hashes them."""
        for url, extra in ((f"{self.hearth}/big.bin", self.user), (f"{self.nginx}/big.bin", []),
                           (f"{self.hearth}/small.bin", self.user),
                           (f"{self.nginx}/small.bin", [])):
            self.get(url, extra)
        propfind_medians([Propfinder(self.hearth_port, "/dav/list/", self.auth)], 1)


def transfers(s: Servers, size: int) -> list[Row]:
    mib = size // MIB
    h, n = best_rates(size, [lambda: s.get(f"{s.hearth}/big.bin", s.user),
                             lambda: s.get(f"{s.nginx}/big.bin", [])])
    rows = [Row(f"GET {mib} MiB file (MB/s, best of 3)", h, n, goal=("≥", 0.9, ""))]
    print(f"PUT {mib} MiB …", file=sys.stderr)
    h, n, ns = best_rates(size, [
        lambda: s.put(f"{s.hearth}/up.bin", s.user), lambda: s.put(f"{s.nginx}/up.bin", []),
        lambda: s.put(f"{s.nginx}/synced.bin", [], sync=s.peer / "synced.bin")])
    for name in ("up.bin", "synced.bin"):
        (s.peer / name).unlink()
    return [*rows, Row(f"PUT {mib} MiB file (MB/s, best of 3)", h, n, goal=("≥", 0.8, "")),
            Row("  vs nginx + fsync of its file", h, ns, note="(like for like)")]


def small_gets(s: Servers, seconds: float) -> Row:
    h = n = 0.0
    for _ in range(2):
        h = max(h, wrk(f"{s.hearth}/small.bin", seconds / 2, s.auth))
        n = max(n, wrk(f"{s.nginx}/small.bin", seconds / 2, {}))
    return Row("4 KiB GETs/s, 8 connections (wrk, best of 2)", h, n, goal=("≥", 0.3, ""))


def memory(s: Servers, size: int) -> list[Row]:
    os.sync()
    begin, peak, end, rate = asyncio.run(upload_rss(f"{s.hearth}/memory.bin", s.auth, size,
                                                    s.hearth_pid))
    return [Row(f"RSS during a {size // MIB} MiB PUT: start (MiB)", begin, fmt=",.1f"),
            Row("  max (MiB)", peak, fmt=",.1f"),
            Row("  end (MiB)", end, fmt=",.1f"),
            Row("  max − start (MiB)", peak - begin, fmt=",.1f", goal=("<", 20, " MiB")),
            Row("  its upload speed (MB/s, aiohttp client)", rate)]


def measure(args: argparse.Namespace, tmp: Path) -> list[Row]:
    """Start the servers, run every measure, stop them; return the table's rows."""
    data, peer = tmp / "data", tmp / "peer"
    password = prepare(data, peer, args.size_mib * MIB)
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    with contextlib.ExitStack() as stack:
        hport, hpid = run_hearth(stack, tmp, data)
        nport = run_nginx(stack, tmp, peer)
        rport = run_rclone(stack, tmp, data / "files", password)
        s = Servers(f"http://127.0.0.1:{hport}/dav", f"http://127.0.0.1:{nport}", hport, hpid,
                    rport, ["-u", f"{USER}:{password}"], auth, data / "files" / "big.bin", peer)
        s.warm()
        print(f"GET {args.size_mib} MiB …", file=sys.stderr)
        rows = transfers(s, args.size_mib * MIB)
        print(f"4 KiB GETs, 2 × {args.seconds / 2:g} s each …", file=sys.stderr)
        rows.append(small_gets(s, args.seconds))
        print(f"PROPFIND × {args.propfinds} …", file=sys.stderr)
        h, r = propfind_medians([Propfinder(hport, "/dav/list/", auth),
                                 Propfinder(rport, "/list/", auth)], args.propfinds)
        rows.append(Row(f"PROPFIND 1, {LISTED} entries (ms, median; rclone)", h * 1000,
                        r * 1000, fmt=",.1f", goal=("≤", 1, "")))
        print(f"PUT {args.upload_mib} MiB, sampling RSS …", file=sys.stderr)
        rows += memory(s, args.upload_mib * MIB)
    return rows


def report(rows: list[Row]) -> None:
    print(f"{'measure':<48}{'hearth':>10}{'peer':>10}{'ratio':>8}  goal")
    for row in rows:
        ratio = row.hearth / row.peer if row.peer else None
        goal = row.note
        if row.goal is not None:
            sign, bound, unit = row.goal
            value = row.hearth if ratio is None else ratio
            met = {"≥": value >= bound, "≤": value <= bound, "<": value < bound}[sign]
            unit = "×" if ratio is not None else unit
            goal = f"{sign} {bound:g}{unit}: {'met' if met else 'MISSED'}"
        peer = f"{row.peer:>10{row.fmt}}" if row.peer is not None else f"{'':>10}"
        shown = f"{ratio:>7.2f}×" if ratio is not None else f"{'':>8}"
        print(f"{row.label:<48}{row.hearth:>10{row.fmt}}{peer}{shown}  {goal}".rstrip())


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
        print(describe(tmp), flush=True)
        rows = measure(args, tmp)
        report(rows)
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
