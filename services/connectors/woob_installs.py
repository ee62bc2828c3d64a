"""Installs of woob modules started from an account's page: a child process each, time-limited."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.connectors.woob_bridge.install import woob_home

logger = logging.getLogger(__name__)
TIME_LIMIT = 300  # seconds: woob's index and one archive, on a slow line


@dataclass
class Install:
    """One module's install: running, then ok or failed with what the installer said."""

    module: str
    status: str = "running"
    lines: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class Installs:
    """The installs of this daemon, by module name (one at a time per module)."""

    def __init__(self, time_limit: float = TIME_LIMIT) -> None:
        self.by_module: dict[str, Install] = {}
        self.time_limit = time_limit

    def get(self, module: str) -> Install | None:
        """Return the last install of `module` started here, if any."""
        return self.by_module.get(module)

    def start(self, module: str, system: Path, repository: str) -> Install:
        """Start installing `module` unless it is being installed already."""
        current = self.by_module.get(module)
        if current is not None and current.status == "running":
            return current
        install = Install(module)
        install.task = asyncio.create_task(self._run(install, system, repository))
        self.by_module[module] = install
        return install

    async def _run(self, install: Install, system: Path, repository: str) -> None:
        # A child process: woob's installer blocks, and its imports would stay in the daemon.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.connectors.woob_bridge.install", install.module,
            "--home", str(woob_home(system)), "--repository", repository,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.time_limit)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            proc.kill()
            await proc.wait()
            install.status = "failed"
            install.lines.append(f"the install took more than {self.time_limit:g} s and was stopped")
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        install.lines = [line for line in (out + err).decode(errors="replace").splitlines()
                         if line.strip()]
        install.status = "ok" if proc.returncode == 0 else "failed"
        logger.info("woob module %s: install %s", install.module, install.status)

    async def close(self) -> None:
        """Stop the installs still running (Hearth is stopping)."""
        for install in self.by_module.values():
            if install.task is not None and not install.task.done():
                install.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await install.task
