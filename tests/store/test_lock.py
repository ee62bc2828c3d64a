"""One Hearth per store folder: a second one is told which process holds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.store import Store, StoreLocked

REPO = Path(__file__).resolve().parents[2]


def open_elsewhere(root: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "tests.store.worker", "open", str(root)],
                            cwd=REPO, capture_output=True, check=True, timeout=60)
    return list(json.loads(result.stdout))


async def test_second_process_is_told_the_pid_and_then_gets_in(root: Path) -> None:
    store = await Store.open(root)
    try:
        outcome = open_elsewhere(root)
        assert outcome[0] == "locked"
        assert f"pid {os.getpid()}" in outcome[1]
        assert "in use by a running Hearth" in outcome[1] and str(root) in outcome[1]
    finally:
        await store.close()
    assert open_elsewhere(root) == ["opened"]


async def test_second_open_in_the_same_process_is_refused(root: Path) -> None:
    async with await Store.open(root):
        with pytest.raises(StoreLocked, match=f"pid {os.getpid()}"):
            await Store.open(root)
    async with await Store.open(root) as again:
        assert again.doctypes() == []
