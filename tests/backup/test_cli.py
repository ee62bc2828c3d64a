"""The real `hearth backup …` and `hearth export` commands, run as a user would run them."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from appliance.backup.cli import register
from tests.backup.conftest import fingerprint, make_data

ROOT = Path(__file__).resolve().parents[2]


def hearth(*args: str | Path, key: str | None = None, ok: bool = True
           ) -> subprocess.CompletedProcess[str]:
    """Run the `hearth` command as a shell would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    if key is not None:
        env["HEARTH_BACKUP_KEY"] = key
    done = subprocess.run([sys.executable, "-m", "appliance.cli", *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
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


@pytest.mark.parametrize("name", ["home.tar", "home.zip"])
def test_export_is_a_plain_archive_with_one_json_file_per_doctype(tmp_path: Path,
                                                                   name: str) -> None:
    data = make_data(tmp_path / "data", big=1 << 10)
    out = tmp_path / name
    done = hearth("export", "--data", data, out)
    assert "50 documents" in done.stdout
    if name.endswith(".zip"):
        with zipfile.ZipFile(out) as archive:
            names = archive.namelist()
            notes = json.loads(archive.read("documents/io.hearth.notes.json"))
            text = archive.read("files/notes.txt")
    else:
        with tarfile.open(out) as archive:
            names = archive.getnames()
            member = archive.extractfile("documents/io.hearth.notes.json")
            assert member is not None
            notes = json.loads(member.read())
            member = archive.extractfile("files/notes.txt")
            assert member is not None
            text = member.read()
    assert len(notes) == 50 and {"_id", "_rev", "title"} <= set(notes[0])
    assert text == (data / "files" / "notes.txt").read_bytes()
    assert "files/Photos/2024/IMG_0001.txt" in names and "README.txt" in names
    assert not any(n.startswith(("system", "tmp", "store")) for n in names)


def test_every_command_and_option_has_help() -> None:
    parser = argparse.ArgumentParser(prog="hearth")
    register(parser.add_subparsers())
    todo, seen = [parser], 0
    while todo:
        current = todo.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions)
                todo += action.choices.values()
                seen += len(action.choices)
            else:
                assert action.help, f"{current.prog} {action.option_strings or action.dest}"
    assert seen == 8  # backup, export; init, run, list, check, restore, prune
    assert "usage: hearth backup restore" in hearth("backup", "restore", "--help").stdout
