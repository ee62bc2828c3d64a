"""`hearth connector run | list`: one JSON line at the end, and the store written."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.cli.shell import hearth as run_hearth
from tests.jobs.conftest import STATEMENTS, TOYS

ROOT = Path(__file__).resolve().parents[2]


def hearth(*args: str, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `hearth connector ARGS…` with the toy connectors installed."""
    return run_hearth("connector", *args, data=data, cwd=ROOT,
                      env={"PYTHONPATH": os.pathsep.join([str(TOYS), str(ROOT)])})


def last_json(out: str) -> dict[str, object]:
    lines = out.strip().splitlines()
    result: dict[str, object] = json.loads(lines[-1])
    return result


def test_a_statement_folder_is_imported_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "files" / "Banque").mkdir(parents=True)
    shutil.copy(STATEMENTS / "bnp.ofx", data / "files" / "Banque")
    shutil.copy(STATEMENTS / "creditagricole.xml", data / "files" / "Banque")
    first = hearth("run", "bank-statements", "--field", "path=/Banque", data=data)
    assert first.returncode == 0, first.stderr
    assert last_json(first.stdout) == {
        "status": "ok", "error": None, "message": "", "files": 0, "duplicates": 0,
        "rejected": 0, "updated": {},
        "saved": {"io.hearth.bank.accounts": 2, "io.hearth.bank.operations": 7}}
    assert len(first.stdout.strip().splitlines()) == 1  # the log goes to stderr
    assert "bnp.ofx: 5 operations" in first.stderr
    second = hearth("run", "bank-statements", "--field", "path=/Banque", data=data)
    summary = last_json(second.stdout)
    assert (summary["saved"], summary["duplicates"]) == ({}, 9)


def test_failures_end_with_a_json_line_and_a_status(tmp_path: Path) -> None:
    data = tmp_path / "data"
    login = hearth("run", "toy-login", "--field", "login=me", "--field", "password=x", data=data)
    assert login.returncode == 1
    assert last_json(login.stdout)["error"] == "LOGIN_FAILED"
    unknown = hearth("run", "no-such-thing", data=data)
    assert unknown.returncode == 2 and last_json(unknown.stdout)["error"] == "UNKNOWN_CONNECTOR"
    bad = hearth("run", "bank-statements", "--field", "path", data=data)
    assert bad.returncode == 2 and "NAME=VALUE" in str(last_json(bad.stdout)["message"])
    missing = hearth("run", "bank-statements", data=data)
    assert last_json(missing.stdout)["message"] == "path is required."


def test_connectors_are_listed(tmp_path: Path) -> None:
    listing = hearth("list")
    slugs = [json.loads(line)["slug"] for line in listing.stdout.splitlines()]
    assert "bank-statements" in slugs and "toy-good" in slugs
