"""The real `hearth backup …` commands, run as a user would run them."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tests.backup.conftest import fingerprint, make_data
from tests.cli.shell import hearth as run_hearth


def hearth(*args: str | Path, key: str | None = None, ok: bool = True
           ) -> subprocess.CompletedProcess[str]:
    """Run the `hearth` command as a shell would, with the recovery key in its environment."""
    done = run_hearth(*args, env={} if key is None else {"HEARTH_BACKUP_KEY": key})
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done


def test_init_run_list_modify_run_restore(tmp_path: Path) -> None:
    data, repo = make_data(tmp_path / "data"), tmp_path / "backups"
    init = hearth("backup", "init", "--repo", repo)
    key = init.stdout.strip()
    assert len(key) == 44 and "shown only once" in init.stderr
    key_file = tmp_path / "kit.txt"
    key_file.write_text(f"  {key.lower()}\n")  # as typed from the emergency kit
    first = hearth("backup", "run", "--repo", repo, "--data", data, "--key-file", key_file)
    assert "Snapshot" in first.stdout and "saved" in first.stdout
    (data / "files" / "notes.txt").write_text("changed\n")
    (data / "files" / "Photos" / "cat.jpg").unlink()
    hearth("backup", "run", "--repo", repo, "--data", data, key=key)
    listed = hearth("backup", "list", "--repo", repo, key=key).stdout.splitlines()
    assert len(listed) == 2
    old_id = listed[0].split()[0]
    shown = hearth("backup", "list", "--repo", repo, "--snapshot", old_id, "files/Photos",
                   key=key).stdout
    assert "cat.jpg" in shown and "2024/" in shown
    one = tmp_path / "one"
    hearth("backup", "restore", "--repo", repo, "--snapshot", old_id, "--target", one,
           "files/Photos/cat.jpg", key=key)
    assert (one / "files/Photos/cat.jpg").stat().st_size == 3 << 20
    everything = tmp_path / "everything"
    done = hearth("backup", "restore", "--repo", repo, "--target", everything, key=key)
    assert "Restored" in done.stdout
    assert fingerprint(everything) == fingerprint(data, skip=("tmp", "system/standby"))
    check = hearth("backup", "check", "--repo", repo, "--read-data", key=key)
    assert "No damage found" in check.stdout


def test_a_wrong_or_missing_key_says_what_to_do(tmp_path: Path) -> None:
    repo = tmp_path / "backups"
    key = hearth("backup", "init", "--repo", repo).stdout.strip()
    other = hearth("backup", "init", "--repo", tmp_path / "other").stdout.strip()
    wrong = hearth("backup", "list", "--repo", repo, key=other, ok=False)
    assert wrong.returncode == 1 and "doesn't open this backup repository" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    typo = hearth("backup", "list", "--repo", repo, key=key[:-1] + "Z0", ok=False)
    assert "typo" in typo.stderr or "characters" in typo.stderr
    short = hearth("backup", "list", "--repo", repo, key="0000-0000", ok=False)
    assert "recovery key" in short.stderr and "Traceback" not in short.stderr
    missing = hearth("backup", "list", "--repo", repo, ok=False)
    assert "--key-file" in missing.stderr and "HEARTH_BACKUP_KEY" in missing.stderr
    nothing = hearth("backup", "list", "--repo", tmp_path / "nope", key=key, ok=False)
    assert "no backup repository" in nothing.stderr


def test_a_damaged_repository_fails_check_naming_the_file(tmp_path: Path) -> None:
    data, repo = make_data(tmp_path / "data", big=1 << 20), tmp_path / "backups"
    key = hearth("backup", "init", "--repo", repo, "--cipher", "chacha20-poly1305").stdout
    hearth("backup", "run", "--repo", repo, "--data", data, key=key)
    biggest = max(repo.glob("packs/*/*"), key=lambda p: p.stat().st_size)
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 2] ^= 1
    biggest.write_bytes(bytes(raw))
    check = hearth("backup", "check", "--repo", repo, "--read-data", key=key, ok=False)
    assert biggest.name in check.stderr and "files/Photos/cat.jpg" in check.stderr
    restore = hearth("backup", "restore", "--repo", repo, "--target", tmp_path / "out",
                     key=key, ok=False)
    assert "files/Photos/cat.jpg" in restore.stderr and "Restored" in restore.stdout
    assert (tmp_path / "out/files/notes.txt").exists()
