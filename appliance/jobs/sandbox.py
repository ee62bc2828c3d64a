"""The subprocess a connector runs in: a bubblewrap jail, limits, a clean environment.

Every run starts here. Where bwrap can make a jail (appliance/jobs/jail.py) the
runner starts in it: another uid in its own user and PID namespaces, a root of
its own without the box's folders, everything it starts ending with the run.
Where it can't (a developer's machine without bwrap or user namespaces) the run
gets what remains: a process group of its own. Either way the runner sets
rlimits on itself before any connector code is imported (address space,
processor time, processes, no file writes, few descriptors), Landlock refuses
it the box's own TCP ports, it gets an environment of a few variables, no
inherited descriptors but the Drive files it was given, and a wall-clock limit
enforced by the daemon, which kills the whole group. One log line says which
isolation is in force (docs/connectors.md, "The sandbox").
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import functools
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from appliance.jobs import jail
from appliance.jobs.protocol import MAX_LINE

logger = logging.getLogger(__name__)

STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
NICENESS = 10
WEB_PORTS = (80, 443)  # connectors need them to the outside: never refused, even the box's


@dataclass(frozen=True)
class Limits:
    """What one run may use: wall-clock seconds, address space, processor seconds, output."""

    timeout: float
    memory_mb: int
    cpu_seconds: int
    max_output: int = 1 << 30  # bytes of JSON lines in all (files included)
    max_logs: int = 10_000  # log lines (the first few hundred are kept)
    max_files: int = 256  # descriptors beyond the Drive files it reads
    processes: int = 16  # processes and threads of the run together (in a jail only)

    def argv(self, *, jailed: bool) -> list[str]:
        """Return the runner's arguments that carry these limits (never secrets)."""
        args = ["--memory-mb", str(self.memory_mb), "--cpu-seconds", str(self.cpu_seconds)]
        # RLIMIT_NPROC counts per uid: only in a jail's user namespace is that the run alone.
        return [*args, "--processes", str(self.processes)] if jailed else args


@dataclass(frozen=True)
class Confinement:
    """What a run may not reach: folders no bind may hold, the box's own TCP ports.

    `shared` folders are bound read-only all the same (the box's woob modules).
    """

    hidden: tuple[Path, ...] = ()
    shared: tuple[Path, ...] = ()
    refused_ports: tuple[int, ...] = ()

    def argv(self) -> list[str]:
        """Return the runner's arguments that carry the refused ports."""
        return [arg for port in self.refused_ports for arg in ("--refuse-port", str(port))]


def runner_env() -> dict[str, str]:
    """Return the few environment variables a run gets: nothing of the daemon's secrets."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "random",
           "MALLOC_ARENA_MAX": "2",  # each thread arena reserves 64 MiB of address space
           "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p)}
    return env


@functools.cache
def isolation() -> bool:
    """Return whether runs start in a bwrap jail here; log once which isolation is in force."""
    if jail.bwrap() is not None:
        logger.info("connector runs: bubblewrap jail (uid %d in user, PID, IPC and UTS "
                    "namespaces, no box folder, fresh /proc); memory capped per process, "
                    "processes capped per run: all together at most memory x processes",
                    jail.SANDBOX_UID)
        return True
    logger.warning("connector runs: rlimits only (no bwrap or no user namespaces here): "
                   "they run as the daemon's user and can read what it can")
    return False


async def spawn(slug: str, limits: Limits, *, workdir: Path, pass_fds: tuple[int, ...] = (),
                confinement: Confinement = Confinement()) -> asyncio.subprocess.Process:
    """Start `python -m appliance.jobs.runner SLUG` in a jail if one can be made, else bare.

    Either way in a new session (its own process group), with `pass_fds` inherited.
    """
    jailed = isolation()
    runner = [sys.executable, "-m", "appliance.jobs.runner", slug,
              *limits.argv(jailed=jailed), *confinement.argv()]
    if not jailed:
        return await asyncio.create_subprocess_exec(
            *runner, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=workdir,
            env={**runner_env(), "HOME": str(workdir)}, start_new_session=True,
            pass_fds=pass_fds, limit=MAX_LINE + 1)
    uid = jail.outside_uid()
    return await asyncio.create_subprocess_exec(
        *jail.command(runner, hidden=confinement.hidden, shared=confinement.shared),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd="/", env=runner_env(), start_new_session=True,
        pass_fds=pass_fds, limit=MAX_LINE + 1, user=uid, group=uid,
        extra_groups=[] if uid is not None else None)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def stop(proc: asyncio.subprocess.Process) -> None:
    """End a run's whole process group: SIGTERM, then SIGKILL if it lingers."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_GRACE)
    except asyncio.TimeoutError:
        pass
    # Whatever the connector started (a browser, a helper) goes too, even if it left.
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


def apply_limits(memory_mb: int, cpu_seconds: int, max_files: int,
                 processes: int | None = None) -> bool:
    """Cap this process (called by the runner on itself); return whether it is now niced.

    Hard limits are lowered too, so the connector cannot raise them again.
    """
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit (the runner reports it), SIGKILL a little later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it writes no file at all
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(max_files + _open_fds(), hard if hard != resource.RLIM_INFINITY else 1 << 20)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
    try:
        os.nice(NICENESS)
    except OSError as exc:
        # systemd's SystemCallFilter=~@resources refuses setpriority(): run at normal priority.
        if exc.errno not in (errno.EPERM, errno.EACCES):
            raise
        return False
    return True


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 16
