"""The system tools the helper runs: absolute paths, argv lists, timeouts, never a shell."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from appliance.helper.errors import Refused

logger = logging.getLogger(__name__)

# Tool name -> (absolute path on Debian bookworm, the Debian package that ships it).
TOOLS = {
    "mount": ("/usr/bin/mount", "mount"),
    "umount": ("/usr/bin/umount", "mount"),
    "sync": ("/usr/bin/sync", "coreutils"),
    "blkid": ("/usr/sbin/blkid", "util-linux"),
    "blockdev": ("/usr/sbin/blockdev", "util-linux"),
    "partx": ("/usr/bin/partx", "util-linux"),
    "sfdisk": ("/usr/sbin/sfdisk", "fdisk"),
    "wipefs": ("/usr/sbin/wipefs", "util-linux"),
    "losetup": ("/usr/sbin/losetup", "mount"),
    "mkfs.ext4": ("/usr/sbin/mkfs.ext4", "e2fsprogs"),
    "e2fsck": ("/usr/sbin/e2fsck", "e2fsprogs"),
    "fsck.exfat": ("/usr/sbin/fsck.exfat", "exfatprogs"),
    "fsck.fat": ("/usr/sbin/fsck.fat", "dosfstools"),
    "ntfsfix": ("/usr/bin/ntfsfix", "ntfs-3g"),
    "mount.exfat-fuse": ("/usr/sbin/mount.exfat-fuse", "exfat-fuse"),
    "ntfs-3g": ("/usr/bin/ntfs-3g", "ntfs-3g"),
}
# Tools see a fixed, minimal environment: nothing of the caller's leaks into them.
ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}


@dataclass(frozen=True)
class ToolResult:
    """How a tool ended: its exit status and what it printed."""

    tool: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Return True when the tool exited with status 0."""
        return self.returncode == 0

    def why(self) -> str:
        """Return the tool's own explanation: the last lines it printed."""
        lines = [line.strip() for line in (self.stderr or self.stdout).splitlines()]
        text = " ".join(line for line in lines[-3:] if line)
        return text or f"{self.tool} exited with status {self.returncode}"


async def run(tool: str, *args: str, timeout: float = 60, stdin: str | None = None) -> ToolResult:
    """Run `tool` with `args` and return how it ended; refuse when it is missing or too slow."""
    path, package = TOOLS[tool]
    logger.debug("running %s %s", path, " ".join(args))
    try:
        process = await asyncio.create_subprocess_exec(
            path, *args, env=ENVIRONMENT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        raise Refused(f"{path} is missing: install the Debian package {package} "
                      f"(sudo apt install {package})") from None
    try:
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Refused(f"{tool} {' '.join(args)} did not finish within {timeout:.0f} s and was "
                      f"stopped; the disk may be failing: unplug it and plug it in again") from None
    assert process.returncode is not None
    return ToolResult(tool, process.returncode, out.decode(errors="replace"),
                   err.decode(errors="replace"))


async def require(tool: str, *args: str, doing: str, timeout: float = 60,
                  stdin: str | None = None) -> ToolResult:
    """Run `tool` like `run`, and refuse with "could not <doing>: <why>" when it fails."""
    outcome = await run(tool, *args, timeout=timeout, stdin=stdin)
    if not outcome.ok:
        raise Refused(f"could not {doing}: {outcome.why()}")
    return outcome
