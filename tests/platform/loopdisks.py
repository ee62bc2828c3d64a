"""Loop devices standing in for USB disks, and the udevd that probes them (shared test helpers).

Other people may run tests on this machine at the same time: everything here
touches only the loop devices and mount points it created itself, under unique
names, and releases them even when a test fails.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid as uuids
from collections.abc import Iterator
from pathlib import Path

import pytest

UDEVD = "/lib/systemd/systemd-udevd"
FILESYSTEMS = {"ext4": ["mkfs.ext4", "-q", "-F", "-L"], "exfat": ["mkfs.exfat", "-L"],
               "ntfs": ["mkfs.ntfs", "-Q", "-F", "-L"]}


def sh(*argv: str, stdin: str | None = None, check: bool = True, timeout: float = 60) -> str:
    """Run a command (never through a shell) and return its stdout."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def skip_without_loop_devices() -> None:
    """Skip the test, saying why, when this machine can't make loop disks."""
    if os.geteuid() != 0:
        pytest.skip("loop disks need root (losetup, mount): run the tests as root")
    for tool in ("losetup", "sfdisk", "partx", "mkfs.ext4", "blkid"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: util-linux, fdisk, e2fsprogs)")


def udev_probed(node: str) -> dict[str, str]:
    """Return the udev properties of a device node ({} when udev has no record of it)."""
    done = subprocess.run(["udevadm", "info", "--query=property", f"--name={node}"],
                          capture_output=True, text=True, timeout=10)
    pairs = (line.partition("=") for line in done.stdout.splitlines())
    return {key: value for key, _, value in pairs if key}


def wait_for_udev(node: str, timeout: float = 15, **expected: str) -> dict[str, str]:
    """Wait until udev's record of `node` shows the `expected` properties, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        found = udev_probed(node)
        if all(found.get(key) == value for key, value in expected.items()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"udev never reported {expected} for {node}: {found}")
        time.sleep(0.05)


def mountpoints_of(node: str) -> list[str]:
    """Return where the block device `node` is mounted, per /proc/self/mountinfo."""
    try:
        rdev = os.stat(node).st_rdev
    except FileNotFoundError:
        return []
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        for line in table:
            fields = line.split()
            major, minor = (int(n) for n in fields[2].split(":"))
            source = fields[fields.index("-") + 2]
            if os.makedev(major, minor) == rdev or source == node:
                found.append(fields[4].replace("\\040", " "))
    return found


class LoopDisk:
    """An image file attached to a loop device of its own."""

    def __init__(self, image: Path) -> None:
        self.image = image
        self.device = ""
        self.partitions: list[str] = []

    @property
    def name(self) -> str:
        """Return the kernel name, e.g. loop3."""
        return os.path.basename(self.device)

    def attach(self) -> str:
        """Attach the image to a free loop device, and return the device."""
        self.device = sh("losetup", "-f", "--show", str(self.image)).strip()
        self.unplug_partitions()  # partitions a previous user of this number left behind
        return self.device

    def partition(self, *sizes: str) -> list[str]:
        """Write a GPT with one partition per size ("" fills the rest); return their nodes."""
        script = "label: gpt\n" + "".join(f",{size},L\n" for size in sizes)
        sh("sfdisk", "-q", "--wipe", "always", self.device, stdin=script)
        sh("partx", "-a", self.device)
        self.partitions = [f"{self.device}p{n}" for n in range(1, len(sizes) + 1)]
        for node in self.partitions:
            _wait_for_node(node)
        return self.partitions

    def make_fs(self, node: str, fstype: str, label: str, *extra: str) -> str:
        """Make a filesystem on `node`, wait until udev has probed it, and return its UUID."""
        # udevd re-probes a device when a writer closes it, but only once it watches the
        # device: let it finish the event that announced the device first.
        sh("udevadm", "settle", "--timeout=10", check=False)
        sh(*FILESYSTEMS[fstype], label, *extra, node, timeout=120)
        fs_uuid = sh("blkid", "-p", "-o", "value", "-s", "UUID", node).strip()
        try:
            wait_for_udev(node, timeout=3, ID_FS_UUID=fs_uuid, ID_FS_TYPE=fstype)
        except AssertionError:  # the close went unnoticed: replay a change for this node only
            sh("udevadm", "trigger", "--settle", "--action=change", node)
            wait_for_udev(node, ID_FS_UUID=fs_uuid, ID_FS_TYPE=fstype)
        return fs_uuid

    def unplug_partitions(self, timeout: float = 5) -> None:
        """Make the kernel forget this disk's partitions (retrying while one is still busy)."""
        deadline = time.monotonic() + timeout
        while self.device and kernel_partitions(self.device):
            sh("partx", "-d", self.device, check=False)
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.device} keeps {kernel_partitions(self.device)}")
            time.sleep(0.05)

    def trigger(self, action: str) -> None:
        """Replay a udev `action` (add, remove, change) for this disk only, and wait for it."""
        sh("udevadm", "trigger", "--settle", f"--action={action}", f"/sys/block/{self.name}")

    def detach(self) -> None:
        """Unmount what is mounted from this disk, forget its partitions, free the loop device."""
        if not self.device or not _still_ours(self.device, self.image):
            self.device = ""
            return
        for node in [*self.partitions, self.device]:
            for target in reversed(mountpoints_of(node)):
                sh("umount", "-l", target, check=False)
        try:
            self.unplug_partitions()
        finally:
            sh("losetup", "-d", self.device, check=False)
            self.device = ""


def kernel_partitions(device: str) -> list[str]:
    """Return the partitions the kernel knows on a loop device (loop3p1…)."""
    name = os.path.basename(device)
    return sorted(entry.name for entry in Path("/sys/block", name).glob(f"{name}p*"))


def _still_ours(device: str, image: Path) -> bool:
    """Return True while `device` is still backed by our image (a test may have detached it)."""
    backing = Path("/sys/block", os.path.basename(device), "loop", "backing_file")
    try:
        return Path(backing.read_text().strip()) == image
    except OSError:
        return False


def _wait_for_node(node: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not Path(node).is_block_device():
        if time.monotonic() > deadline:
            raise AssertionError(f"{node} never appeared")
        time.sleep(0.02)


class LoopDisks:
    """Make loop disks in one folder and release every one of them at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.disks: list[LoopDisk] = []

    def create(self, size: str = "64M", *, attach: bool = True) -> LoopDisk:
        """Return a new loop disk of `size` (sparse), attached unless told otherwise."""
        image = self.folder / f"disk-{uuids.uuid4().hex[:12]}.img"
        sh("truncate", "-s", size, str(image))
        disk = LoopDisk(image)
        self.disks.append(disk)
        if attach:
            disk.attach()
        return disk

    def close(self) -> None:
        """Detach every disk made here and delete its image."""
        for disk in self.disks:
            try:
                disk.detach()
            finally:
                disk.image.unlink(missing_ok=True)


def udev_is_running() -> bool:
    """Return True when a udevd answers on this machine."""
    return subprocess.run(["udevadm", "control", "--ping"], capture_output=True,
                          timeout=10).returncode == 0


def start_udevd() -> bool:
    """Make sure udevd runs; return True when we started it (and so must stop it)."""
    if udev_is_running():
        return False
    if not os.access(UDEVD, os.X_OK):
        pytest.skip(f"{UDEVD} is missing: install the Debian package udev")
    sh(UDEVD, "--daemon")
    deadline = time.monotonic() + 10
    while not udev_is_running():
        if time.monotonic() > deadline:
            raise AssertionError("systemd-udevd started but never answered a ping")
        time.sleep(0.05)
    return True


def stop_udevd() -> None:
    """Ask the udevd we started to exit."""
    sh("udevadm", "control", "--exit", check=False)


def loop_disks_in(folder: Path) -> Iterator[LoopDisks]:
    """Yield a LoopDisks factory for `folder`, releasing its disks afterwards (a fixture body)."""
    skip_without_loop_devices()
    disks = LoopDisks(folder)
    try:
        yield disks
    finally:
        disks.close()
