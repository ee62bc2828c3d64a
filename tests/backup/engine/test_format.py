"""docs/backup-format.md is enough: its reader, run as written, restores a snapshot."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.repository import Repository
from tests.backup.conftest import fingerprint, make_data

DOC = Path(__file__).resolve().parents[3] / "docs" / "backup-format.md"


def test_the_documented_reader_restores_the_latest_snapshot(repo: Repository, key: str,
                                                             tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    Archiver(repo, Sources(data)).run()
    (data / "files" / "notes.txt").write_text("the latest version\n")
    Archiver(repo, Sources(data)).run()
    section = DOC.read_text().split("## Reading a repository without Hearth")[1]
    reader = tmp_path / "reader.py"
    reader.write_text(re.search(r"```python\n(.*?)```", section, re.S).group(1))  # type: ignore[union-attr]
    spaced = "-".join(key[n:n + 4] for n in range(0, 36, 4)).lower()
    subprocess.run([sys.executable, str(reader), str(repo.path), spaced, str(tmp_path / "out")],
                   check=True, timeout=60)
    assert fingerprint(tmp_path / "out") == fingerprint(data, skip=("tmp", "system"))
