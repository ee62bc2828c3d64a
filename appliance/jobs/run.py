"""One run of a connector: the subprocess, the lines it sends, and what they come to."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance.files import FilesError
from appliance.jobs import outcome as codes
from appliance.jobs import protocol, sandbox
from appliance.jobs.connector import NOT_FOUND
from appliance.jobs.grants import Grant, GrantError, opened
from appliance.jobs.manifest import Manifest
from appliance.jobs.outcome import Outcome
from appliance.jobs.protocol import ProtocolError
from appliance.jobs.sandbox import Confinement, Limits
from appliance.jobs.sink import Sink
from appliance.settings import Settings
from appliance.store import StoreError

logger = logging.getLogger(__name__)

STDERR_TAIL = 4096  # bytes of the runner's stderr kept to explain a crash
EXIT_GRACE = 5.0  # seconds a run may take to exit once it said it was done
KEEP = object()  # Run.session when the run left the account's session as it was
Ask = Callable[[dict[str, Any]], Awaitable[str]]


class Flood(Exception):
    """A run sent more than it may; the message says how much."""


def limits_for(manifest: Manifest, settings: Settings | None = None) -> Limits:
    """Return the limits of a connector's runs: what its manifest asks, within the platform's.

    A manifest may ask for less than the settings' maxima, never for more.
    """
    maxima = settings or Settings()
    timeout = min(manifest.timeout, maxima.connector_max_minutes * 60.0)
    return Limits(timeout=timeout, memory_mb=min(manifest.memory_mb, maxima.connector_max_mb),
                  cpu_seconds=min(manifest.cpu_limit, int(timeout) + 1),
                  processes=maxima.connector_max_processes)


class Run:
    """Runs one connector subprocess to its end and stores what it sends through a Sink."""

    def __init__(self, manifest: Manifest, start: dict[str, Any], sink: Sink, *,
                 grants: list[Grant] | None = None, ask: Ask | None = None,
                 limits: Limits | None = None, outcome: Outcome | None = None,
                 confinement: Confinement = Confinement()) -> None:
        self.manifest, self._start, self._sink = manifest, start, sink
        self._grants = grants or []
        self._ask = ask
        self.limits = limits or limits_for(manifest)
        self._confinement = confinement
        self.outcome = outcome or Outcome()
        self._stderr = bytearray()
        self._received = 0
        self._logs = 0
        self._ended = False  # a terminal message (done or error) arrived
        self.session: Any = KEEP  # the sealed session the run left, if it touched it

    async def execute(self) -> Outcome:
        """Run the connector and return its outcome (it never raises but for cancellation)."""
        out = self.outcome
        workdir = Path(tempfile.mkdtemp(prefix="hearth-run-"))
        proc: asyncio.subprocess.Process | None = None
        try:
            with opened(self._grants) as (fds, listing):
                proc = await sandbox.spawn(self.manifest.slug, self.limits, workdir=workdir,
                                           pass_fds=fds, confinement=self._confinement)
            errors = asyncio.create_task(self._drain_stderr(proc))
            try:
                async with asyncio.timeout(self.limits.timeout):
                    await self._send(proc, {**self._start, "type": "start", "inputs": listing,
                                            "interactive": self._ask is not None})
                    await self._converse(proc)
                    with contextlib.suppress(TimeoutError):  # the group is stopped below
                        await asyncio.wait_for(proc.wait(), EXIT_GRACE)
            except TimeoutError:
                out.fail(codes.TIMEOUT, f"the connector took longer than "
                                        f"{self.limits.timeout:g} s; it was stopped")
            except ProtocolError as exc:
                out.fail(codes.PROTOCOL_ERROR, f"the connector {exc}; the run was stopped")
            except Flood as exc:
                out.fail(codes.FLOODED, f"the connector {exc}; the run was stopped")
            except (StoreError, FilesError) as exc:  # the data disk is full, or gone
                out.fail(codes.STORE_ERROR, str(exc))
            finally:
                await asyncio.shield(self._wind_down(proc, errors))
        except asyncio.CancelledError:
            out.fail(codes.INTERRUPTED, "the run was interrupted (Hearth stopped or the "
                                        "account was removed)")
            raise
        except GrantError as exc:  # a granted file vanished since the account was checked
            out.fail(NOT_FOUND, str(exc))
        except Exception as exc:  # nothing a connector does may take the daemon down
            logger.exception("run of %s failed", self.manifest.slug)
            out.fail(codes.CRASHED, f"the run could not be carried out: {exc}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            self._conclude(proc)
        return out

    async def _wind_down(self, proc: asyncio.subprocess.Process,
                         errors: asyncio.Task[None]) -> None:
        if proc.returncode is None:
            await sandbox.stop(proc)
        await errors
        try:
            await self._sink.close()
        except StoreError as exc:
            self.outcome.fail(codes.STORE_ERROR, str(exc))
        except ProtocolError as exc:
            self.outcome.fail(codes.PROTOCOL_ERROR, f"the connector {exc}")

    async def _send(self, proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(protocol.encode(message))
            await proc.stdin.drain()

    async def _converse(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while not self._ended:
            try:
                line = await proc.stdout.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                raise Flood(f"sent a line longer than {protocol.MAX_LINE >> 10} KiB") from None
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    self.outcome.add_log("warning", "its last line was cut short")
                return
            self._received += len(line)
            if self._received > self.limits.max_output:
                raise Flood(f"sent more than {self.limits.max_output >> 20} MiB")
            await self._handle(proc, protocol.parse(line))

    async def _handle(self, proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        kind, out = message["type"], self.outcome
        if kind == "record":
            await self._sink.record(message["doctype"], message["data"])
        elif kind == "chunk":
            await self._sink.chunk(protocol.chunk_bytes(message))
        elif kind == "file":
            await self._sink.open_file(message)
        elif kind == "file_end":
            await self._sink.end_file(message["sha256"], message["size"])
        elif kind == "log":
            self._logs += 1
            if self._logs > self.limits.max_logs:
                raise Flood(f"sent more than {self.limits.max_logs} log lines")
            out.add_log(message.get("level", "info"), message["message"])
        elif kind == "hello":
            if message.get("niced") is False:
                out.add_log("debug", "runs at normal priority: this system refuses lower ones")
            if "network" in message:  # the box's own ports it was refused, or why not
                logger.debug("run of %s, network: %s", self.manifest.slug,
                             protocol.clip(str(message["network"]), 200))
        elif kind == "session":
            self.session = message["sealed"]
        elif kind == "question":
            await self._question(proc, message)
        elif kind in protocol.TERMINAL:  # error or done
            self._ended = True
            peak = message.get("peak_mib")
            if isinstance(peak, (int, float)) and not isinstance(peak, bool):
                out.peak_mib = float(peak)
            if kind == "error":
                out.fail(message["code"], str(message.get("message") or message["code"]))
        self._sync_counts()

    async def _question(self, proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        if self._ask is None:
            raise ProtocolError("asked a question in a run nobody watches")
        question = {"id": message["id"], "prompt": protocol.clip(message["prompt"], 300),
                    "kind": str(message.get("kind", "code"))}
        self.outcome.question = question
        try:
            answer = await self._ask(question)
        finally:
            self.outcome.question = None
        await self._send(proc, {"type": "answer", "id": question["id"], "value": answer})

    def _sync_counts(self) -> None:
        out, sink = self.outcome, self._sink
        out.saved, out.updated = sink.saved, sink.updated
        out.duplicates, out.rejected, out.files = sink.duplicates, sink.rejected, sink.files

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL]

    def _conclude(self, proc: asyncio.subprocess.Process | None) -> None:
        out = self.outcome
        self._sync_counts()
        out.ended_at = time.time()
        if out.status == "running" and not self._ended:
            out.fail(*self._exit_reason(proc))
        if out.status == "running" and out.rejected:
            out.fail(codes.INVALID_RECORD, f"{out.rejected} records did not match their "
                                           f"doctype and were refused; the others were saved")
        if out.status == "running":
            out.status = "ok"

    def _exit_reason(self, proc: asyncio.subprocess.Process | None) -> tuple[str, str]:
        rc = proc.returncode if proc is not None else None
        tail = self._stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        said = f" Its last words: {' | '.join(tail)}" if tail else ""
        if rc is not None and rc < 0 and -rc in (signal.SIGXCPU, signal.SIGKILL) and \
                "CPU" in said.upper():
            return codes.CPU_LIMIT, f"the connector used more than {self.limits.cpu_seconds} s " \
                                    f"of processor time and was stopped."
        if rc is not None and rc < 0:
            name = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else rc
            return codes.CRASHED, (f"the connector was killed by {name} (it may have run out "
                                   f"of its {self.limits.memory_mb} MiB of memory).{said}")
        if rc:
            return codes.CRASHED, f"the connector exited with status {rc}.{said}"
        return codes.CRASHED, f"the connector ended without saying it was done.{said}"
