"""Fixtures for the platform tests: udevd, and loop disks standing in for USB disks."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.platform.loopdisks import (
    LoopDisks,
    loop_disks_in,
    skip_without_loop_devices,
    start_udevd,
    stop_udevd,
)


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
