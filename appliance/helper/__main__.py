"""`hearth-helper`: the privileged disk helper, on a socket systemd hands over or one it binds."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import pwd
import signal
import socket
import stat
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from appliance.helper.errors import Refused
from appliance.helper.deviceguard import DeviceGuard
from appliance.helper.mounter import Mounter
from appliance.helper.server import HelperServer
from appliance.helper.verbs import Verbs
from appliance.logs import setup_logging
from appliance.platform.systemd import SystemdNotifier

logger = logging.getLogger(__name__)

DEFAULT_SOCKET = Path("/run/hearth-helper/helper.sock")
DEFAULT_MOUNT_ROOT = Path("/media/hearth")
SD_LISTEN_FDS_START = 3


class StartError(Exception):
    """The helper can't start; the message says what to fix."""


def inherited_socket(environ: MutableMapping[str, str] = os.environ) -> socket.socket | None:
    """Return the listening socket systemd passed (LISTEN_FDS, fd 3), or None when none was."""
    if environ.get("LISTEN_PID") != str(os.getpid()) or not environ.get("LISTEN_FDS"):
        return None
    count = int(environ["LISTEN_FDS"])
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)  # they are meant for us, not for the tools we run
    if count != 1:
        raise StartError(f"systemd passed {count} sockets; the helper's .socket unit must "
                         f"have exactly one ListenStream=")
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise StartError("the socket systemd passed is not a unix stream socket: "
                         "use ListenStream=/path in the helper's .socket unit")
    sock.set_inheritable(False)
    return sock


def bound_socket(path: Path, gid: int) -> socket.socket:
    """Bind and listen on `path`, readable and writable by root and group `gid` only."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise StartError(f"{path} exists and is not a socket: remove it or pick "
                             f"another --socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(str(path)) == 0:
                raise StartError(f"another helper already listens on {path}")
        path.unlink()  # left behind by a helper that died
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o117)  # born 0660: never a moment when anyone may connect
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chown(path, 0, gid)
    sock.listen(16)
    return sock


def _uid(text: str) -> int:
    try:
        return int(text) if text.isdigit() else pwd.getpwnam(text).pw_uid
    except KeyError:
        raise argparse.ArgumentTypeError(f"no user named {text!r}") from None


def _gid_of(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid  # a uid with no passwd entry (tests): use the same number as its group


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth-helper", description="Mount, check, format and power off USB disks for "
        "the Hearth daemon. Runs as root; answers JSON lines on a unix socket.")
    parser.add_argument("--socket", type=Path, default=DEFAULT_SOCKET, metavar="PATH",
                        help="Unix socket to bind when systemd did not pass one "
                             f"(default {DEFAULT_SOCKET}).")
    parser.add_argument("--daemon-uid", type=_uid, required=True, metavar="UID",
                        help="The Hearth daemon's user (number or name): the only caller "
                             "besides root, and the owner of what is mounted.")
    parser.add_argument("--mount-root", type=Path, default=DEFAULT_MOUNT_ROOT, metavar="DIR",
                        help=f"Where disks are mounted, at DIR/<uuid> "
                             f"(default {DEFAULT_MOUNT_ROOT}).")
    parser.add_argument("--allow-loop", type=Path, nargs="?", const=Path("/"), default=None,
                        metavar="DIR", help="Also touch loop devices, for tests only; with "
                        "DIR, only those whose image file is in DIR.")
    parser.add_argument("--log-level", default="info", help="debug, info, warning or error.")
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Answer requests until SIGTERM or SIGINT."""
    uid = args.daemon_uid
    gid = _gid_of(uid)
    sock = inherited_socket()
    bound = sock is None
    if sock is None:
        sock = bound_socket(args.socket, gid)
    loop_images = args.allow_loop.resolve() if args.allow_loop is not None else None
    guard = DeviceGuard(loop_images=loop_images)
    mounter = Mounter(args.mount_root.resolve(), uid, gid)
    try:
        mounter.check_root()
    except Refused as refusal:
        raise StartError(str(refusal)) from None
    server = await HelperServer(Verbs(guard, mounter), allowed_uids={0, uid}).serve(sock)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    notifier = SystemdNotifier.from_environ()
    where = sock.getsockname() or args.socket
    logger.info("the disk helper listens on %s for uid %d; disks mount under %s%s", where,
                uid, mounter.root, f" (loop devices of {loop_images})" if loop_images else "")
    notifier.ready()
    try:
        await stop.wait()
    finally:
        notifier.stopping()
        server.close()
        await server.wait_closed()
        if bound:
            args.socket.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the helper; return the exit status."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    if os.geteuid() != 0:
        print("hearth-helper must run as root: it mounts and formats disks. "
              "Start it with `sudo systemctl start hearth-helper.socket`.", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(args))
    except StartError as exc:
        print(f"hearth-helper: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
