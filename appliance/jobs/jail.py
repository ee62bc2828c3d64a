"""The bubblewrap jail a connector's runner starts in, and the test of whether one can be made.

`bwrap` puts the runner in new user, PID, IPC, UTS and cgroup namespaces, as
uid/gid 65534 inside, on a root of its own: /usr and the Python code it needs
read-only, a few files of /etc for DNS and TLS, a fresh /proc of its PID
namespace, a minimal /dev, an empty tmpfs home and /tmp. Nothing else of the
box is there: no system folder (but its woob modules, read-only), no store, no
Drive, no helper socket. When the daemon is root (tests, a developer as root),
bwrap itself is started as uid 65534, so the run is not root outside either.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

SANDBOX_UID = 65534  # nobody, inside the namespace and, when the daemon is root, outside
HOME = "/home/connector"
ETC_FILES = ("resolv.conf", "hosts", "nsswitch.conf", "host.conf", "gai.conf", "services",
             "protocols", "localtime", "ssl", "ca-certificates", "ca-certificates.conf")
ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def outside_uid() -> int | None:
    """Return the uid bwrap is started as: 65534 when the daemon is root, else its own."""
    return SANDBOX_UID if os.geteuid() == 0 else None


@functools.cache
def bwrap() -> str | None:
    """Return bwrap's path if it can jail a Python run here (installed, namespaces allowed,
    the Python code reachable by the jail's uid)."""
    found = shutil.which("bwrap")
    if found is None:
        return None
    uid = outside_uid()
    try:
        done = subprocess.run(command([sys.executable, "-c", "pass"], hidden=(), program=found),
                              capture_output=True, timeout=20, user=uid, group=uid,
                              extra_groups=[] if uid else None)
    except (OSError, subprocess.SubprocessError):
        return None
    return found if done.returncode == 0 else None


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ROOT_LINKS:
        place = Path("/") / name
        if place.is_symlink():
            args += ["--symlink", os.readlink(place), str(place)]
        elif place.is_dir():
            args += ["--ro-bind", str(place), str(place)]
    return args


def _overlaps(path: Path, hidden: Iterable[Path]) -> bool:
    return any(path == h or path.is_relative_to(h) or h.is_relative_to(path) for h in hidden)


def code_paths(hidden: Iterable[Path]) -> list[str]:
    """Return the folders of Python code the runner needs, none holding a hidden one."""
    hidden = [Path(os.path.realpath(h)) for h in hidden]
    wanted = {sys.prefix, sys.base_prefix, *(p for p in sys.path if p)}
    places: list[str] = []
    for raw in sorted(wanted):
        path = Path(os.path.realpath(raw))
        if path.is_dir() and not path.is_relative_to("/usr") and not _overlaps(path, hidden):
            places.append(str(path))
    return places


def command(runner: list[str], *, hidden: Iterable[Path], shared: Iterable[Path] = (),
            program: str | None = None) -> list[str]:
    """Return the bwrap command that runs `runner` in the jail.

    `hidden` are folders no bind may hold (the data and system folders);
    `shared` are folders bound read-only all the same (the box's woob modules).
    """
    binds: list[str] = []
    for place in [*code_paths(hidden), *(str(p) for p in shared)]:
        binds += ["--ro-bind-try", place, place]
    return _argv(program or bwrap() or "bwrap", runner, binds)


def _argv(program: str, runner: list[str], binds: list[str]) -> list[str]:
    args = [program, "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "connector",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--tmpfs", HOME, "--setenv", "HOME", HOME, "--chdir", HOME]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return [*args, *binds, "--", *runner]
