"""`hearth backup …` and `hearth export` through the installed `hearth` command."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.backup.conftest import fingerprint, make_data

HEARTH = Path(sys.executable).with_name("hearth")


def hearth(*args: str | Path, key: str | None = None, ok: bool = True
           ) -> subprocess.CompletedProcess[str]:
    """Run the real `hearth` command as the owner would from a shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    if key is not None:
        env["HEARTH_BACKUP_KEY"] = key
    done = subprocess.run([str(HEARTH), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done


def test_help_lists_backup_and_export() -> None:
    shown = hearth("--help").stdout
    assert "backup" in shown and "export" in shown
    assert "restore" in hearth("backup", "--help").stdout


def test_init_run_list_restore_check(tmp_path: Path) -> None:
    data, repo = make_data(tmp_path / "data"), tmp_path / "backups"
    key = hearth("backup", "init", "--repo", repo).stdout.strip()
    key_file = tmp_path / "kit.txt"
    key_file.write_text(key + "\n")
    saved = hearth("backup", "run", "--repo", repo, "--data", data, "--key-file", key_file)
    assert "Snapshot" in saved.stdout and "saved" in saved.stdout
    listed = hearth("backup", "list", "--repo", repo, key=key).stdout.splitlines()
    assert len(listed) == 1
    target = tmp_path / "back"
    hearth("backup", "restore", "--repo", repo, "--target", target, key=key)
    assert fingerprint(target) == fingerprint(data, skip=("tmp", "system/standby"))
    assert "No damage found" in hearth("backup", "check", "--repo", repo, key=key).stdout


def test_a_wrong_key_is_refused_in_plain_words(tmp_path: Path) -> None:
    repo = tmp_path / "backups"
    hearth("backup", "init", "--repo", repo)
    refused = hearth("backup", "list", "--repo", repo, key="0000-0000", ok=False)
    assert "recovery key" in refused.stderr and "Traceback" not in refused.stderr


def test_export_writes_a_plain_archive(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    out = tmp_path / "home.tar"
    said = hearth("export", "--data", data, out).stdout
    assert "Exported" in said
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert "README.txt" in names and "files/notes.txt" in names
