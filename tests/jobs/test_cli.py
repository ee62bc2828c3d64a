"""`hearth connector run | list`: one JSON line at the end, and the store written."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.jobs.conftest import STATEMENTS, TOYS
from tests.test_cli import HEARTH

ROOT = Path(__file__).resolve().parents[2]
# Until appliance/cli.py calls appliance.jobs.cli.register itself, build the same parser here.
_WIRED = "connector" in subprocess.run([*HEARTH, "--help"], capture_output=True,
                                       text=True).stdout
_STANDIN = ("import sys, argparse; from appliance import cli; from appliance.jobs.cli import "
            "register; p = argparse.ArgumentParser(prog='hearth'); "
            "s = p.add_subparsers(dest='command', required=True); register(s); "
            "a = p.parse_args(); sys.exit(a.func(a, cli._settings(a)))")
COMMAND = HEARTH if _WIRED else [sys.executable, "-c", _STANDIN]


def hearth(*args: str, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(TOYS), str(ROOT)])
    where = ["--data", str(data)] if data is not None else []
    return subprocess.run([*COMMAND, "connector", *args, *where], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


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
