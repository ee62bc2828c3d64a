"""`hearth device …`: app passwords for the devices that reach the files over WebDAV."""
from __future__ import annotations

import json
from pathlib import Path

from tests.cli.shell import hearth


def test_device_add_list_revoke(tmp_path: Path) -> None:
    made = hearth("device", "add", "Pixel-8", data=tmp_path)
    assert made.returncode == 0, made.stderr
    password = made.stdout.strip().splitlines()[-1]
    assert len(password) == 23 and "shown only once" in made.stderr
    again = hearth("device", "add", "Pixel-8", data=tmp_path)
    assert again.returncode == 1 and "already a device with this name" in again.stderr
    bad = hearth("device", "add", "../../etc", data=tmp_path)
    assert bad.returncode == 1 and "A device name has" in bad.stderr
    [listed] = [json.loads(line) for line in hearth("device", "list", data=tmp_path).stdout.split("\n") if line]
    assert listed["name"] == "Pixel-8"
    assert password not in (tmp_path / "store" / "io.hearth.devices" / "journal.log").read_bytes().decode(errors="replace")
    assert hearth("device", "revoke", "Pixel-8", data=tmp_path).returncode == 0
    assert hearth("device", "list", data=tmp_path).stdout == ""
