"""The privileged disk helper, run for real as root on loop disks, asked through HelperClient."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from appliance.platform.disks import Mounts
from appliance.platform.helper_client import HelperClient, HelperError
from tests.platform.conftest import DAEMON_UID, REPO, Helper, stop, wait_for_socket
from tests.platform.loopdisks import LoopDisks, mountpoints_of, sh

STRANGER_UID = 4343


def as_user(uid: int, *argv: str, stdin: str = "", groups: str = "") -> str:
    """Run `argv` as `uid` (group `uid`, plus `groups`) and return its output."""
    group_flag = f"--groups={groups}" if groups else "--clear-groups"
    return sh("setpriv", f"--reuid={uid}", f"--regid={uid}", group_flag, *argv, stdin=stdin)


def mount_flags(path: Path) -> set[str]:
    """Return the per-mount flags of the filesystem mounted at `path`."""
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        for line in table:
            fields = line.split()
            if fields[4] == str(path):
                return set(fields[5].split(","))
    raise AssertionError(f"nothing is mounted at {path}")


@pytest.mark.parametrize("fstype", ["ext4", "exfat", "ntfs"])
async def test_mounts_by_uuid_for_the_daemon_and_files_survive_a_remount(
        fstype: str, helper: Helper, loop_disks: LoopDisks) -> None:
    disk = loop_disks.create()
    (part,) = disk.partition("")
    # A disk Hearth formatted belongs to the daemon's user (see the format test).
    owner = ("-E", f"root_owner={DAEMON_UID}:{DAEMON_UID}") if fstype == "ext4" else ()
    fs_uuid = disk.make_fs(part, fstype, "FAMILY", *owner)
    client = helper.client

    path = await client.mount(fs_uuid)
    assert path == helper.media / fs_uuid and os.path.ismount(path)
    assert {"noexec", "nosuid", "nodev", "noatime"} <= mount_flags(path)
    as_user(DAEMON_UID, "tee", str(path / "note.txt"), stdin="kept")
    assert await client.mount(fs_uuid) == path  # asking again is fine
    assert len(mountpoints_of(part)) == 1

    await client.unmount(fs_uuid)
    assert not path.exists(), "the mount folder stays behind after unmount"
    await client.unmount(fs_uuid)  # and so is unmounting twice
    assert (await client.check(fs_uuid)).startswith("clean")

    path = await client.mount(fs_uuid)
    assert (path / "note.txt").read_text() == "kept"
    assert (path / "note.txt").stat().st_uid == DAEMON_UID
    await client.unmount(fs_uuid)


def system_disk() -> str:
    """Return the device of the disk mounted at /, or skip when / is not on a disk here."""
    root = Mounts.read().at("/")
    sys_dev = Path(f"/sys/dev/block/{os.major(root.devnum)}:{os.minor(root.devnum)}") \
        if root else None
    if sys_dev is None or not sys_dev.exists():
        pytest.skip("/ is not on a block device here (a container?)")
    node = sys_dev.resolve()
    name = node.parent.name if (node / "partition").exists() else node.name
    return f"/dev/{name}"


async def test_refuses_disks_that_are_not_removable(helper: Helper) -> None:
    disk = system_disk()
    size = int(Path(f"/sys/class/block/{os.path.basename(disk)}/size").read_text()) * 512
    # The size is wrong on purpose, and the disk is mounted: three refusals would have
    # to fail before anything happened to this machine's own disk.
    with pytest.raises(HelperError, match=f"^{disk} is not a removable disk; "
                                          f"Hearth only touches USB disks$"):
        await helper.client.format(disk, "HEARTH", size + 1)
    with pytest.raises(HelperError, match="is not a removable disk"):
        await helper.client.power_off(disk)
    root_uuid = sh("blkid", "-p", "-o", "value", "-s", "UUID", disk, check=False).strip()
    if root_uuid:
        with pytest.raises(HelperError, match="is not a removable disk"):
            await helper.client.mount(root_uuid)


async def test_leaves_loop_devices_it_was_not_given_alone(helper: Helper,
                                                          tmp_path: Path) -> None:
    others = LoopDisks(tmp_path)  # images outside the folder the helper was given
    try:
        disk = others.create("16M")
        with pytest.raises(HelperError, match="is a loop device whose image .* is not in"):
            await helper.client.format(disk.device, "HEARTH", 16 << 20)
    finally:
        others.close()


def ask_raw(path: Path, line: bytes) -> dict[str, object]:
    """Send one raw line to the helper and return its answer."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        sock.sendall(line)
        answer: dict[str, object] = json.loads(sock.makefile("rb").readline())
        return answer


async def test_refuses_unknown_uuids_odd_names_and_unknown_verbs(
        helper: Helper, loop_disks: LoopDisks) -> None:
    disk = loop_disks.create("16M")
    client = helper.client
    with pytest.raises(HelperError, match="no disk with the filesystem UUID 0123-ABCD"):
        await client.mount("0123-ABCD")
    with pytest.raises(HelperError, match="is not a filesystem UUID"):
        await client.mount("../../etc")
    with pytest.raises(HelperError, match="is not a disk device name like /dev/sdb"):
        await client.format(f"/dev/../dev/{disk.name}", "HEARTH", 16 << 20)
    with pytest.raises(HelperError, match="is not a disk device name"):
        await client.power_off(f"{disk.device}/../../sda")
    with pytest.raises(HelperError, match="can't be a disk label"):
        await client.format(disk.device, "a/b", 16 << 20)
    shell = ask_raw(helper.socket, b'{"verb": "shell", "args": {"command": "rm -rf /"}}\n')
    assert shell["ok"] is False and "unknown verb 'shell'" in str(shell["error"])
    text_size = ask_raw(helper.socket, json.dumps({"verb": "format", "args": {
        "device": disk.device, "label": "X", "expected_size": "16777216"}}).encode() + b"\n")
    assert "expected_size must be a whole number" in str(text_size["error"])
    assert "one line of JSON" in str(ask_raw(helper.socket, b"mount please\n")["error"])


async def test_format_refuses_the_wrong_size_and_a_mounted_disk(
        helper: Helper, loop_disks: LoopDisks) -> None:
    disk = loop_disks.create()
    (part,) = disk.partition("")
    fs_uuid = disk.make_fs(part, "exfat", "PHOTOS")
    size = int(sh("blockdev", "--getsize64", part))
    client = helper.client

    with pytest.raises(HelperError, match=f"holds {size} bytes .*not the {size + 512} bytes "
                                          f"you confirmed.*Nothing was changed"):
        await client.format(part, "HEARTH", size + 512)
    path = await client.mount(fs_uuid)
    with pytest.raises(HelperError, match=f"{part} is mounted at {path}: unmount it"):
        await client.format(part, "HEARTH", size)
    with pytest.raises(HelperError, match=f"{part} is mounted at {path}"):
        await client.format(disk.device, "HEARTH", 64 << 20)
    with pytest.raises(HelperError, match=f"{part} is mounted at {path}"):
        await client.check(fs_uuid)
    await client.unmount(fs_uuid)
    assert sh("blkid", "-p", "-o", "value", "-s", "TYPE", part).strip() == "exfat"


@pytest.mark.parametrize("whole", [False, True], ids=["partition", "whole-disk"])
async def test_format_makes_a_labelled_ext4_the_daemon_owns(
        whole: bool, helper: Helper, loop_disks: LoopDisks) -> None:
    disk = loop_disks.create()
    if whole:  # an old two-partition stick: Hearth replaces its table with one partition
        old, _ = disk.partition("16M", "")
        disk.make_fs(old, "exfat", "OLD")
        target = disk.device
    else:
        (target,) = disk.partition("")
        disk.make_fs(target, "ntfs", "OLD")
    size = int(sh("blockdev", "--getsize64", target))
    client = helper.client

    fs_uuid = await client.format(target, "HEARTH", size)
    node = f"{disk.device}p1" if whole else target
    probed = sh("blkid", "-p", "-o", "export", node)
    assert {"TYPE=ext4", "LABEL=HEARTH", f"UUID={fs_uuid}"} <= set(probed.splitlines())
    if whole:
        # One partition spanning the disk, not the old 16 MB one and its neighbour.
        assert not Path(f"/sys/block/{disk.name}/{disk.name}p2").exists()
        assert int(sh("blockdev", "--getsize64", node)) > size - (4 << 20)
    assert (await client.check(fs_uuid)).startswith("clean")
    path = await client.mount(fs_uuid)
    assert path.stat().st_uid == DAEMON_UID
    as_user(DAEMON_UID, "mkdir", str(path / "hearth"))
    await client.unmount(fs_uuid)


async def test_power_off_unmounts_and_lets_go_of_the_disk(
        helper: Helper, loop_disks: LoopDisks) -> None:
    disk = loop_disks.create()
    (part,) = disk.partition("")
    path = await helper.client.mount(disk.make_fs(part, "ext4", "EJECT"))
    image, name = disk.image, disk.name

    message = await helper.client.power_off(part)
    assert message == f"{disk.device} is detached."
    assert not os.path.ismount(path)
    backing = Path(f"/sys/block/{name}/loop/backing_file")
    assert not backing.exists() or backing.read_text().strip() != str(image)


CLIENT = textwrap.dedent("""
    import json, socket, sys
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(sys.argv[1])
        sock.sendall(b'{"verb": "unmount", "args": {"uuid": "0123-ABCD"}}\\n')
        print(sock.makefile().readline())
""")


def test_only_root_and_the_daemon_user_may_ask(helper: Helper) -> None:
    python = "/usr/bin/python3"  # the pyenv one under /root is out of other uids' reach
    if not os.access(python, os.X_OK) or shutil.which("setpriv") is None:
        pytest.skip("needs /usr/bin/python3 and setpriv to ask as another uid")
    daemon = json.loads(as_user(DAEMON_UID, python, "-c", CLIENT, str(helper.socket)))
    assert daemon == {"ok": True, "result": {"was_mounted": False}}
    # Same group as the daemon, so the socket's mode lets it connect: SO_PEERCRED stops it.
    stranger = json.loads(as_user(STRANGER_UID, python, "-c", CLIENT, str(helper.socket),
                                  groups=str(DAEMON_UID)))
    assert stranger["ok"] is False
    assert stranger["error"].startswith(f"uid {STRANGER_UID} may not use the Hearth disk helper")


async def test_a_missing_helper_is_reported_as_not_running(tmp_path: Path) -> None:
    with pytest.raises(HelperError, match="the disk helper service is not running"):
        await HelperClient(tmp_path / "helper.sock").mount("0123-ABCD")


async def test_serves_on_the_socket_systemd_hands_over(helper: Helper, tmp_path: Path) -> None:
    activate = shutil.which("systemd-socket-activate")
    if activate is None:
        pytest.skip("systemd-socket-activate is not installed (Debian: systemd)")
    listen, log = tmp_path / "activated.sock", tmp_path / "log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [activate, "-l", str(listen), "-E", f"PYTHONPATH={REPO}", sys.executable, "-m",
             "appliance.helper", "--daemon-uid", str(DAEMON_UID), "--mount-root",
             str(tmp_path / "media"), "--socket", str(tmp_path / "unused.sock")],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    try:
        wait_for_socket(listen, process, log)
        await HelperClient(listen).unmount("0123-ABCD")  # the first connection starts it
        assert not (tmp_path / "unused.sock").exists()
        assert "listens on" in log.read_text()
    finally:
        stop(process)
