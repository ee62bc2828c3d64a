"""The subprocess a connector runs in: its own process group, limits, a clean environment.

Under the daemon's systemd unit there are no namespaces and nice() is refused
(docs/units.md), so the sandbox is what remains: a process group of its own,
rlimits set by the runner on itself before any connector code is imported
(address space, processor time, no file writes, few descriptors), best-effort
niceness, an empty working folder, an environment of a few variables, no
inherited descriptors but the Drive files it was given, and a wall-clock limit
enforced by the daemon, which kills the whole group.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from appliance.jobs.protocol import MAX_LINE

STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
NICENESS = 10


@dataclass(frozen=True)
class Limits:
    """What one run may use: wall-clock seconds, address space, processor seconds, output."""

    timeout: float
    memory_mb: int
    cpu_seconds: int
    max_output: int = 1 << 30  # bytes of JSON lines in all (files included)
    max_logs: int = 10_000  # log lines (the first few hundred are kept)
    max_files: int = 256  # descriptors beyond the Drive files it reads

    def argv(self) -> list[str]:
        """Return the runner's arguments that carry these limits (never secrets)."""
        return ["--memory-mb", str(self.memory_mb), "--cpu-seconds", str(self.cpu_seconds)]


def runner_env() -> dict[str, str]:
    """Return the few environment variables a run gets: nothing of the daemon's secrets."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "random",
           "MALLOC_ARENA_MAX": "2",  # each thread arena reserves 64 MiB of address space
           "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p)}
    return env


async def spawn(slug: str, limits: Limits, *, workdir: Path, pass_fds: tuple[int, ...] = ()
                ) -> asyncio.subprocess.Process:
    """Start `python -m appliance.jobs.runner SLUG` in a new session (its own process group)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appliance.jobs.runner", slug, *limits.argv(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=workdir, env={**runner_env(), "HOME": str(workdir)},
        start_new_session=True, pass_fds=pass_fds, limit=MAX_LINE + 1)


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


def apply_limits(memory_mb: int, cpu_seconds: int, max_files: int) -> bool:
    """Cap this process (called by the runner on itself); return whether it is now niced.

    Hard limits are lowered too, so the connector cannot raise them again.
    """
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
