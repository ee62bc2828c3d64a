"""Fixtures for the platform tests: udevd, and loop disks standing in for USB disks."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.platform.helper_client import HelperClient

from tests.platform.loopdisks import (
    LoopDisks,
    loop_disks_in,
    sh,
    skip_without_loop_devices,
    start_udevd,
    stop_udevd,
)

REPO = Path(__file__).resolve().parents[2]
DAEMON_UID = 4242  # the daemon's user in these tests (no passwd entry: its group is 4242 too)


@pytest.fixture(scope="session")
def udevd() -> Iterator[None]:
    """A running systemd-udevd: started for the session unless one already answers."""
    skip_without_loop_devices()
    started = start_udevd()
    yield
    if started:
        stop_udevd()


@pytest.fixture(scope="session")
def loop_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding this session's loop disk images (the only ones the helper may touch)."""
    return tmp_path_factory.mktemp("loop-images")


@pytest.fixture
def loop_disks(udevd: None, loop_images: Path) -> Iterator[LoopDisks]:
    """Make loop disks for one test; every one is unmounted and detached afterwards."""
    yield from loop_disks_in(loop_images)


@dataclass
class Helper:
    """A helper process serving on `socket`, mounting under `media`."""

    socket: Path
    media: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def client(self) -> HelperClient:
        """Return a client of this helper."""
        return HelperClient(self.socket)


def wait_for_socket(path: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until something accepts connections on `path`."""
    deadline = time.monotonic() + 15
    while True:
        with socket.socket(socket.AF_UNIX) as probe:
            if path.exists() and probe.connect_ex(str(path)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the helper did not start:\n{log.read_text()}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started, by its own handle."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def helper(udevd: None, loop_images: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helper]:
    """The helper as root, for uid 4242, allowed only this session's loop disks."""
    skip_without_loop_devices()
    # Outside pytest's private tmp folder, so that other uids reach the socket and mounts.
    socket_dir = Path(tempfile.mkdtemp(prefix="hearth-helper-"))
    socket_dir.chmod(0o711)
    media, log = socket_dir / "media", tmp_path_factory.mktemp("log") / "helper"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance.helper", "--socket", str(socket_dir / "sock"),
             "--daemon-uid", str(DAEMON_UID), "--mount-root", str(media),
             "--allow-loop", str(loop_images), "--log-level", "debug"],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    try:
        wait_for_socket(socket_dir / "sock", process, log)
        yield Helper(socket_dir / "sock", media, process, log)
    finally:
        stop(process)
        for entry in media.glob("*"):  # anything a failed test left mounted
            if os.path.ismount(entry):
                sh("umount", "-l", str(entry), check=False)
        shutil.rmtree(socket_dir, ignore_errors=True)


