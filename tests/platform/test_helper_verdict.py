"""The helper's fsck verdicts: a checker's exit status -> clean, repaired, damaged or refused.

The table is written out, code by code (fsck(8): 1 errors corrected, 2 corrected and a
reboot advised, 4 errors left uncorrected, 8 operational error, 16 usage error, 32
cancelled; ntfsfix -n only looks, so any trouble it finds is for Windows to repair).
Then real e2fsck runs on image files damaged with debugfs, so that "damaged" comes
from the real checker and not only from the fake helper of tests/test_datadisk.py.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.helper.commands import ToolResult, run
from appliance.helper.errors import Refused
from appliance.helper.verbs import _verdict
from tests.platform.loopdisks import sh

NODE = "/dev/sdz1"


@pytest.mark.parametrize(("fstype", "code", "state", "opening"), [
    ("ext4", 0, "clean", "clean: /dev/sdz1 has no errors."),
    ("ext4", 1, "repaired", "repaired: /dev/sdz1 had errors, and they are fixed now."),
    ("ext4", 2, "repaired", "repaired: /dev/sdz1 had errors, and they are fixed now."),
    ("ext4", 3, "damaged", "damaged: /dev/sdz1 has errors the check could not fix."),
    ("ext4", 4, "damaged", "damaged: /dev/sdz1 has errors the check could not fix."),
    ("ext4", 6, "damaged", "damaged: /dev/sdz1 has errors the check could not fix."),
    ("exfat", 4, "damaged", "damaged: /dev/sdz1 has errors the check could not fix."),
    ("exfat", 1, "repaired", "repaired: /dev/sdz1 had errors, and they are fixed now."),
    ("vfat", 0, "clean", "clean: /dev/sdz1 has no errors."),
    ("ntfs", 0, "clean", "clean: /dev/sdz1 has no errors."),
    ("ntfs", 1, "damaged", "damaged: /dev/sdz1 needs Windows to repair it: plug it into a "
                           "Windows computer and run chkdsk /f."),
])
def test_exit_status_to_verdict(fstype: str, code: int, state: str, opening: str) -> None:
    outcome = ToolResult("checker", code, "", "Inode 12 has a bad extent\n")
    got_state, message = _verdict(outcome, fstype, NODE)
    assert got_state == state
    assert message.startswith(opening)
    if state == "damaged":  # the checker's own words travel with it
        assert message.endswith("(Inode 12 has a bad extent)")


@pytest.mark.parametrize("code", [8, 12, 16, 32])
def test_a_checker_that_could_not_run_is_a_refusal_not_a_verdict(code: int) -> None:
    outcome = ToolResult("e2fsck", code, "", "e2fsck: No such file or directory\n")
    with pytest.raises(Refused, match=r"^could not check /dev/sdz1: e2fsck: No such file "
                                      r"or directory$"):
        _verdict(outcome, "ext4", NODE)


@pytest.fixture
def ext4_image(tmp_path: Path) -> Path:
    if shutil.which("mkfs.ext4") is None or shutil.which("debugfs") is None:
        pytest.skip("mkfs.ext4 and debugfs are not installed (Debian: e2fsprogs)")
    image = tmp_path / "disk.img"
    sh("truncate", "-s", "16M", str(image))
    sh("mkfs.ext4", "-q", "-F", str(image))
    return image


def debugfs(image: Path, *requests: str) -> None:
    for request in requests:
        sh("debugfs", "-w", "-R", request, str(image))


async def checked(image: Path) -> tuple[str, str]:
    return _verdict(await run("e2fsck", "-p", str(image)), "ext4", str(image))


async def test_real_e2fsck_clean(ext4_image: Path) -> None:
    assert (await checked(ext4_image))[0] == "clean"


async def test_real_e2fsck_repaired(ext4_image: Path) -> None:
    # Not cleanly unmounted, a wrong free-inode count: preen mode fixes it (exit 1).
    debugfs(ext4_image, "ssv state 0", "ssv free_inodes_count 5")
    assert (await checked(ext4_image))[0] == "repaired"
    assert (await checked(ext4_image))[0] == "clean"


async def test_real_e2fsck_damaged(ext4_image: Path) -> None:
    # The root folder's inode wiped: preen mode must stop and ask for a manual run (exit 4).
    debugfs(ext4_image, "clri <2>", "ssv state 0")
    state, message = await checked(ext4_image)
    assert state == "damaged"
    assert "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY" in message


async def test_real_e2fsck_without_a_disk_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Refused, match="No such file or directory"):
        await checked(tmp_path / "gone.img")
