"""Update Hearth on the box from a signed wheel, and roll back if it does not reach READY.

The `hearth-update` command, run as root: `hearth-update apply FILE.whl` from a
shell, `hearth-update apply-pending` from hearth-update.service for an update
uploaded from the web page; `sign` and `new-key` on the release machine.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from appliance.updater.errors import UpdateError
from appliance.updater.intake import PENDING
from appliance.updater.pending import STATUS, WORK, apply_pending
from appliance.updater.releases import Releases
from appliance.updater.restarter import SystemdRestarter
from appliance.updater.rollout import apply
from appliance.updater.signature import KEYS, new_key, sign


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
    status = apply_pending(
        args.pending or PENDING, work=WORK, status=args.status or STATUS, keys=KEYS,
        releases=releases, restarter=SystemdRestarter(), timeout=args.timeout)
    if status is None:
        print("no update is waiting")
        return 0
    detail = f" ({status.detail})" if status.detail else ""
    print(f"Hearth {status.version}: {status.state}{detail}")
    return 0 if status.state == "done" else 1
