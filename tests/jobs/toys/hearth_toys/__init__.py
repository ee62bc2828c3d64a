"""Connectors that behave well and badly, installed as a third-party package would be."""
from __future__ import annotations

import asyncio
import os
import sys
import time

from appliance.jobs.connector import Connector, ConnectorError, Context
from appliance.jobs.manifest import Dedup, Field, Manifest

NOTES = "io.hearth.toy.notes"


def manifest(slug: str, **extra: object) -> Manifest:
    """Return a toy manifest: one note doctype deduplicated by its number."""
    return Manifest(slug=slug, name=slug.title(), vendor="Toys", version="1.0",
                    fields=(Field("login", "Login"), Field("password", "Password", type="password")),
                    doctypes={NOTES: Dedup(("number",))}, **{"timeout": 20, **extra})


class Good(Connector):
    """Saves three notes, a file that notes point to, and a session."""

    manifest = manifest("toy-good", interactive=True)

    async def fetch(self, ctx: Context) -> None:
        ctx.logger.info("logged in as %s", ctx.fields["login"])
        print("a stray print goes to stderr, not into the messages")
        count = int(ctx.fields.get("login", "x").count("x")) or 3
        await ctx.save_file("report.pdf", b"%PDF-1.4 toy report\n" * 5000, folder="2024",
                            key="report")
        for number in range(count):
            ctx.save(NOTES, {"number": number, "text": f"note {number}",
                             "file": {"$file": "report"}})
        ctx.save_session({"cookie": "session-cookie-ABC", "seen": (ctx.session or {}).get("seen", 0) + 1})


class Hang(Connector):
    manifest = manifest("toy-hang", timeout=2)

    async def fetch(self, ctx: Context) -> None:
        import subprocess
        helper = subprocess.Popen(["sleep", "3600"])  # what it starts must go with it
        ctx.logger.info("pids %d %d", os.getpid(), helper.pid)
        ctx.save(NOTES, {"number": 1, "text": "before hanging"})
        await asyncio.sleep(3600)


class Flood(Connector):
    manifest = manifest("toy-flood")

    async def fetch(self, ctx: Context) -> None:
        while True:
            ctx.logger.info("x" * 1000)


class LongLine(Connector):
    manifest = manifest("toy-longline")

    async def fetch(self, ctx: Context) -> None:
        ctx.save(NOTES, {"number": 1, "text": "y" * 1_000_000})


class Garbage(Connector):
    manifest = manifest("toy-garbage")

    async def fetch(self, ctx: Context) -> None:
        ctx.save(NOTES, {"number": 7, "text": "fine"})
        os.write(_protocol_fd(), b"\x00\xffnot json at all\n")
        await asyncio.sleep(5)


def _protocol_fd() -> int:
    # The runner keeps its messages on a private descriptor; a rogue connector can find it.
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
        if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            try:
                os.write(fd, b"")
                return fd
            except OSError:
                continue
    raise RuntimeError("no pipe")


class Hog(Connector):
    manifest = manifest("toy-hog", memory_mb=200)

    async def fetch(self, ctx: Context) -> None:
        hoard = []
        while True:
            hoard.append(bytearray(10 << 20))


class Spin(Connector):
    manifest = manifest("toy-spin", cpu_seconds=1)

    async def fetch(self, ctx: Context) -> None:
        while True:
            pass


class Crash(Connector):
    manifest = manifest("toy-crash")

    async def fetch(self, ctx: Context) -> None:
        sys.stderr.write("about to die\n")
        sys.stderr.flush()
        os._exit(9)


class Login(Connector):
    manifest = manifest("toy-login")

    async def fetch(self, ctx: Context) -> None:
        raise ConnectorError("LOGIN_FAILED", "the vendor refused this password")


class Down(Connector):
    manifest = manifest("toy-down")

    async def fetch(self, ctx: Context) -> None:
        raise ConnectorError("VENDOR_DOWN", "the vendor's site answers 503")


class Asks(Connector):
    manifest = manifest("toy-asks", interactive=True)

    async def fetch(self, ctx: Context) -> None:
        code = await ctx.ask("Type the code sent by SMS")
        if code != "123456":
            raise ConnectorError("LOGIN_FAILED", "wrong code")
        ctx.save(NOTES, {"number": 42, "text": "after two-factor"})


class HalfFile(Connector):
    manifest = manifest("toy-halffile")

    async def fetch(self, ctx: Context) -> None:
        def blocks():
            yield b"a" * 100_000
            os._exit(1)  # dies in the middle of the file
        await ctx.save_file("half.bin", blocks())


class Spy(Connector):
    """Reports what it can see of its process: environment, limits, arguments."""

    manifest = manifest("toy-spy")

    async def fetch(self, ctx: Context) -> None:
        import resource
        ctx.logger.info("env=%s", sorted(os.environ))
        ctx.logger.info("argv=%s", sys.argv)
        ctx.logger.info("as=%s cpu=%s fsize=%s", resource.getrlimit(resource.RLIMIT_AS),
                        resource.getrlimit(resource.RLIMIT_CPU),
                        resource.getrlimit(resource.RLIMIT_FSIZE))
        ctx.logger.info("pgid=%s pid=%s", os.getpgid(0), os.getpid())
        ctx.logger.info("fields=%s", sorted(ctx.fields))
        try:
            with open("written.txt", "w") as fh:
                fh.write("x")
            ctx.logger.info("write=allowed")
        except OSError as exc:
            ctx.logger.info("write=refused %s", exc.errno)
        time.sleep(0)
