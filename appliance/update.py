"""Update Hearth on the box from a signed wheel, and roll back if it does not reach READY.

The box keeps each version in its own folder under /opt/hearth-releases and
/opt/hearth is a link to the one in use. An update copies the current folder,
installs the new wheel into the copy, switches the link, restarts hearth.service
and waits for it to say READY=1; if it does not in time, the link goes back and
the previous version is restarted. Runs as root: `hearth-update apply FILE.whl`.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.update_status import WHEEL_NAME

logger = logging.getLogger(__name__)

KEYS = Path("/etc/hearth/update-keys")
RELEASES = Path("/opt/hearth-releases")
CURRENT = Path("/opt/hearth")


class UpdateError(Exception):
    """An update was refused or rolled back; the message says why and what runs now."""


class RolledBack(UpdateError):
    """The update was installed but did not start, and the previous version was put back."""


def verify(wheel: Path, signature: Path, keys: Path) -> None:
    """Check that one of the box's update keys signed the wheel (Ed25519, raw signature)."""
    if not WHEEL_NAME.match(wheel.name):
        raise UpdateError(f"{wheel.name} is not a Hearth wheel (hearthbox-VERSION-py3-none-any.whl)")
    if not signature.exists():
        raise UpdateError(f"no signature next to the update: {signature} is missing")
    pems = sorted(keys.glob("*.pem")) if keys.is_dir() else []
    if not pems:
        raise UpdateError(f"this box has no update key in {keys}: it accepts no update")
    data, sig = wheel.read_bytes(), signature.read_bytes()
    for pem in pems:
        key = serialization.load_pem_public_key(pem.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            continue
        try:
            key.verify(sig, data)
            return
        except InvalidSignature:
            continue
    raise UpdateError(f"{wheel.name} is not signed by a key this box trusts; nothing was changed")


def sign(wheel: Path, private_key: Path) -> Path:
    """Sign a wheel with an Ed25519 private key (PEM); return the signature's path."""
    key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateError(f"{private_key} is not an Ed25519 private key")
    signature = wheel.with_name(wheel.name + ".sig")
    signature.write_bytes(key.sign(wheel.read_bytes()))
    return signature


def new_key(private_key: Path, public_key: Path) -> None:
    """Write a new Ed25519 key pair: the private one for the signer, the public one for images."""
    key = Ed25519PrivateKey.generate()
    private_key.touch(mode=0o600)
    private_key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    public_key.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


class Restarter(Protocol):
    """Restarts the daemon and says whether it reached READY within the time limit."""

    def restart(self, timeout: float) -> bool:
        """Restart the daemon; return True once it is ready, False if it is not in time."""


@dataclass
class SystemdRestarter:
    """hearth.service under systemd: Type=notify, so a restart returns once READY=1 came."""

    unit: str = "hearth.service"

    def restart(self, timeout: float) -> bool:
        """Restart the unit; return whether it is active (READY sent) within timeout."""
        try:
            subprocess.run(["systemctl", "restart", self.unit], timeout=timeout,
                           capture_output=True, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            logger.warning("%s did not start: %s", self.unit, exc)
            return False
        state = subprocess.run(["systemctl", "is-active", self.unit],
                               capture_output=True, text=True).stdout.strip()
        return state == "active"


@dataclass
class Releases:
    """The versions kept on the box, and the link that names the one in use."""

    root: Path = RELEASES
    current_link: Path = CURRENT

    def current(self) -> Path:
        """Return the folder of the version in use."""
        return self.current_link.resolve()

    def switch(self, release: Path) -> None:
        """Point the link at release, atomically (a rename over the old link)."""
        temporary = self.current_link.with_name(self.current_link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.path.relpath(release, self.current_link.parent))
        temporary.replace(self.current_link)

    def install(self, wheel: Path) -> Path:
        """Copy the version in use and install the wheel into the copy; return its folder."""
        version = WHEEL_NAME.match(wheel.name)
        assert version is not None
        target = self.root / version.group(1)
        if target == self.current():
            raise UpdateError(f"version {version.group(1)} is already the one in use")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.current(), target, symlinks=True)
        result = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install",
                                 "--quiet", "--no-index", "--no-deps", "--no-cache-dir",
                                 "--disable-pip-version-check", "--force-reinstall", str(wheel)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise UpdateError(f"the update did not install, nothing was changed: {result.stderr}")
        return target

    def prune(self, keep: Sequence[Path]) -> None:
        """Remove the versions other than keep (the one in use and the one before)."""
        for folder in self.root.iterdir():
            if folder.is_dir() and not folder.is_symlink() and folder not in keep:
                shutil.rmtree(folder)


def apply(wheel: Path, signature: Path, *, keys: Path, releases: Releases,
          restarter: Restarter, timeout: float) -> Path:
    """Install a signed wheel and restart; roll back if not READY in time. Return the release."""
    verify(wheel, signature, keys)
    previous = releases.current()
    release = releases.install(wheel)
    os.sync()  # the new files are on the card before the link names them (power cuts)
    releases.switch(release)
    logger.info("restarting with %s", release.name)
    if restarter.restart(timeout):
        releases.prune(keep=[release, previous])
        return release
    releases.switch(previous)
    back = restarter.restart(timeout)
    shutil.rmtree(release, ignore_errors=True)
    raise RolledBack(f"{wheel.name} did not start within {timeout:.0f} s and was rolled back; "
                      + (f"{previous.name} runs again" if back
                         else f"{previous.name} is back in place but did not start either"))


def main(argv: Sequence[str] | None = None) -> int:
    """The hearth-update command."""
    parser = argparse.ArgumentParser(prog="hearth-update", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_apply = sub.add_parser("apply", help="install a signed wheel (FILE.whl with FILE.whl.sig)")
    p_apply.add_argument("wheel", type=Path)
    p_apply.add_argument("--timeout", type=float, default=120.0,
                         help="seconds the new version has to reach READY (default 120)")
    p_pending = sub.add_parser("apply-pending",
                               help="apply the newest update uploaded from the web page "
                                    "(run by hearth-update.service)")
    p_pending.add_argument("--pending", type=Path, default=None,
                           help="the daemon's pending folder "
                                "(default /var/lib/hearth/updates/pending)")
    p_pending.add_argument("--status", type=Path, default=None,
                           help="the status file the daemon reads "
                                "(default /var/lib/hearth-update/status.json)")
    p_pending.add_argument("--timeout", type=float, default=120.0,
                           help="seconds the new version has to reach READY (default 120)")
    p_sign = sub.add_parser("sign", help="sign a wheel (on the release machine)")
    p_sign.add_argument("wheel", type=Path)
    p_sign.add_argument("--key", type=Path, required=True, help="the Ed25519 private key (PEM)")
    p_key = sub.add_parser("new-key", help="make a signing key pair (on the release machine)")
    p_key.add_argument("private", type=Path)
    p_key.add_argument("public", type=Path)
    sub.add_parser("status", help="say which version runs and which are kept")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    releases = Releases()
    try:
        if args.command == "apply":
            release = apply(args.wheel, args.wheel.with_name(args.wheel.name + ".sig"),
                            keys=KEYS, releases=releases, restarter=SystemdRestarter(),
                            timeout=args.timeout)
            print(f"Hearth {release.name} is running")
        elif args.command == "apply-pending":
            return _apply_pending(args, releases)
        elif args.command == "sign":
            print(sign(args.wheel, args.key))
        elif args.command == "new-key":
            new_key(args.private, args.public)
        else:
            kept = sorted(p.name for p in releases.root.iterdir() if p.is_dir())
            print(f"running {releases.current().name}; kept: {', '.join(kept)}")
    except (UpdateError, OSError, ValueError) as exc:
        print(f"hearth-update: {exc}", file=sys.stderr)
        return 1
    return 0


def _apply_pending(args: argparse.Namespace, releases: Releases) -> int:
    """Run apply-pending and say how it ended."""
    from appliance import update_pending  # it builds on this module

    status = update_pending.apply_pending(
        args.pending or update_pending.PENDING, work=update_pending.WORK,
        status=args.status or update_pending.STATUS, keys=KEYS, releases=releases,
        restarter=SystemdRestarter(), timeout=args.timeout)
    if status is None:
        print("no update is waiting")
        return 0
    detail = f" ({status.detail})" if status.detail else ""
    print(f"Hearth {status.version}: {status.state}{detail}")
    return 0 if status.state == "done" else 1
