"""`hearth backup …`: backups on any Linux machine, without a daemon."""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from appliance.backup.engine import recovery
from appliance.backup.engine.backuperrors import BackupError
from appliance.cli.common import Command, Subcommands, add_command, counted, refusing
from appliance.i18n import size_words
from appliance.settings import Settings

# Each command imports the engine modules it uses when it runs (each says "late"): every
# `hearth …` (`hearth serve` too) registers these commands, and only a backup command
# needs them.
KEY_ENV = "HEARTH_BACKUP_KEY"


def _key(args: argparse.Namespace, *, required: bool = True) -> str | None:
    """Return the recovery key from --key-file or $HEARTH_BACKUP_KEY."""
    if args.key_file is not None:
        try:
            return recovery.parse(args.key_file.read_text())
        except OSError as exc:
            raise BackupError(f"can't read the key file {args.key_file}: {exc.strerror}") from None
    if os.environ.get(KEY_ENV):
        return recovery.parse(os.environ[KEY_ENV])
    if required:
        raise BackupError(f"this needs the recovery key (on the emergency kit): put it in a "
                          f"file given with --key-file FILE, or in ${KEY_ENV}")
    return None


def _open(args: argparse.Namespace) -> Any:
    from appliance.backup.engine.repository import Repository  # late: only backups need it
    return Repository.open(args.repo, str(_key(args)))


@refusing(BackupError)
def cmd_backup_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create a backup repository and print its recovery key (shown only once)."""
    from appliance.backup.engine.repository import Repository  # late: only backups need it
    given = _key(args, required=False)
    key = given or recovery.generate()
    repo = Repository.init(args.repo, key, None if args.cipher == "auto" else args.cipher)
    print(f"Backup repository created in {args.repo} ({repo.config['aead']}).", file=sys.stderr)
    if given is None:
        print("Its recovery key is below. Print it or write it down, and keep it away from "
              "the box: without it nobody, not even you, can read these backups. It is "
              "shown only once.", file=sys.stderr)
        print(recovery.display(key))
    return 0


@refusing(BackupError)
def cmd_backup_run(args: argparse.Namespace, settings: Settings) -> int:
    """Back the data folder (and the system folder's keys) up as a new snapshot."""
    from appliance.backup.engine.archiver import Archiver, Sources  # late: only backups need it
    repo = _open(args)
    system = settings.system if settings.system.is_dir() else None
    started = time.monotonic()
    snapshot = Archiver(repo, Sources(settings.data, system)).run()
    s = snapshot.stats
    print(f"Snapshot {snapshot.short_id} saved: {counted(s['files'], 'file')} "
          f"({size_words(s['bytes'])}), "
          f"{s['files'] - s['unchanged_files']} read, {size_words(s['new_bytes'])} new "
          f"({size_words(s['stored_bytes'])} stored) in {time.monotonic() - started:.1f} s"
          + (f"; {s['skipped']} left out (see the log)" if s["skipped"] else "") + ".")
    return 0


@refusing(BackupError)
def cmd_backup_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the snapshots, or with --snapshot what a folder of one holds."""
    repo = _open(args)
    if args.snapshot is None:
        for snap in repo.snapshots():
            print(f"{snap.short_id}  {snap.when}  {snap.host}  "
                  f"{counted(snap.stats.get('files', 0), 'file')}  "
                  f"{size_words(snap.stats.get('bytes', 0))}")
        return 0
    from appliance.backup.engine.restorer import find  # late: only backups need it
    snapshot = repo.find_snapshot(args.snapshot)
    index = repo.load_index()
    entry = find(repo, index, snapshot, args.path or "")
    for child in repo.read_tree(index, entry["tree"]) if entry["type"] == "dir" else [entry]:
        kind = {"dir": "folder",
                "file": size_words(child.get("size", 0))}.get(child["type"], "link")
        print(f"{child['name']}{'/' if child['type'] == 'dir' else ''}  {kind}")
    return 0


@refusing(BackupError)
def cmd_backup_check(args: argparse.Namespace, settings: Settings) -> int:
    """Check the repository's structure; with --read-data, decrypt every chunk."""
    from appliance.backup.engine.checker import Checker  # late: only backups need it
    report = Checker(_open(args), read_data=args.read_data).run()
    for note in report.notes:
        print(f"note: {note}")
    read = f", {size_words(report.bytes_read)} read and decrypted" if args.read_data else ""
    print(f"Checked {counted(report.snapshots, 'snapshot')}, {counted(report.packs, 'pack')}, "
          f"{counted(report.blobs, 'blob')}{read}.")
    if report.ok:
        print("No damage found.")
        return 0
    lines = [f"  {d}" for d in report.damage] + ["What can't be restored whole:"] + \
        [f"  {a}" for a in report.affected or ["(nothing a snapshot needs)"]]
    raise BackupError("the repository is damaged:\n" + "\n".join(lines) + "\nEverything "
                      "else can be restored. Run a backup again to store what is still on "
                      "the data disk.")


@refusing(BackupError)
def cmd_backup_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore files from a snapshot (everything, or the PATHs given) into a folder."""
    from appliance.backup.engine.restorer import Restorer  # late: only backups need it
    repo = _open(args)
    snapshot = repo.find_snapshot(args.snapshot)
    target = args.target or Path(f"hearth-restore-{snapshot.short_id}")
    report = Restorer(repo, snapshot, target).run(args.paths)
    print(f"Restored {counted(report.files, 'file')} ({size_words(report.bytes)}) from snapshot "
          f"{snapshot.short_id} ({snapshot.when}) into {target}.")
    if report.damaged:
        raise BackupError(f"{counted(len(report.damaged), 'item')} couldn't be restored "
                          "(damaged in the repository; try an older snapshot):\n" +
                          "\n".join(f"  {d}" for d in report.damaged))
    return 0


@refusing(BackupError)
def cmd_backup_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Forget old snapshots (keep N daily, weekly, monthly) and free their space."""
    from appliance.backup.engine.pruner import Pruner  # late: only backups need it
    from appliance.backup.engine.retention import Policy  # late: only backups need it
    policy = Policy(args.keep_daily, args.keep_weekly, args.keep_monthly)
    report = Pruner(_open(args), policy, dry_run=args.dry_run).run()
    verb = "would forget" if args.dry_run else "forgot"
    print(f"Kept {counted(len(report.kept), 'snapshot')} ({policy.describe()}), {verb} "
          f"{len(report.forgotten)}: {' '.join(report.forgotten) or '-'}.")
    if not args.dry_run:
        print(f"Deleted {report.packs_deleted} packs, rewrote {report.packs_rewritten}, freed "
              f"{size_words(max(report.bytes_freed, 0))}.")
    return 0


def _add_repository_command(parent: Subcommands, name: str, run: Command,
                            settings: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Add a command that works on a repository: --repo and --key-file, after the settings."""
    parser = add_command(parent, name, run, settings)
    parser.add_argument("--repo", type=Path, required=True, metavar="DIR",
                        help="The backup repository (on a backup disk: "
                             "<mount>/hearth-backups/<instance id>).")
    parser.add_argument("--key-file", type=Path, metavar="FILE",
                        help=f"File holding the recovery key [env: {KEY_ENV}].")
    return parser


def register(commands: Subcommands) -> None:
    """Add `backup init | run | list | check | restore | prune` to the `hearth` command."""

    bp = commands.add_parser("backup", help="Encrypted backups: init, run, list, check, restore, "
                        "prune.", description="Encrypted, deduplicated backups of the data "
                        "folder to a repository folder (docs/backup.md).")
    bsub = bp.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = _add_repository_command(bsub, "init", cmd_backup_init)
    init.add_argument("--cipher", default="auto",
                      choices=("auto", "chacha20-poly1305", "aes-256-gcm"),
                      help="Encryption (default: AES-256-GCM on CPUs with AES instructions, "
                           "else ChaCha20-Poly1305).")
    _add_repository_command(bsub, "run", cmd_backup_run, ("data", "system_dir"))
    listing = _add_repository_command(bsub, "list", cmd_backup_list)
    listing.add_argument("--snapshot", metavar="ID",
                         help="List a folder of this snapshot (an id, its first digits, or "
                              "latest) instead of the snapshots.")
    listing.add_argument("path", nargs="?", metavar="FOLDER",
                         help="The folder to list, like files/Photos (default: the top).")
    check = _add_repository_command(bsub, "check", cmd_backup_check)
    check.add_argument("--read-data", action="store_true",
                       help="Also read and decrypt every chunk (reads the whole repository).")
    restore = _add_repository_command(bsub, "restore", cmd_backup_restore)
    restore.add_argument("--snapshot", metavar="ID", default="latest",
                         help="The snapshot: an id, its first digits, or latest (default).")
    restore.add_argument("--target", type=Path, metavar="DIR",
                         help="Folder to restore into (default: ./hearth-restore-<id>); "
                              "files there with the same paths are replaced.")
    restore.add_argument("paths", nargs="*", metavar="PATH",
                         help="What to restore, like files/Photos or store (default: "
                              "everything).")
    prune = _add_repository_command(bsub, "prune", cmd_backup_prune)
    for name, default in (("daily", 7), ("weekly", 4), ("monthly", 12)):
        prune.add_argument(f"--keep-{name}", type=int, default=default, metavar="N",
                           help=f"Keep the newest snapshot of each of the last N "
                                f"{'days' if name == 'daily' else name[:-2] + 's'} "
                                f"(default {default}).")
    prune.add_argument("--dry-run", action="store_true",
                       help="Only say which snapshots would be forgotten.")
