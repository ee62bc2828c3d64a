"""Fixtures for the connector tests: toy connectors installed as a third party would be."""
from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from appliance.core import Core, open_core
from appliance.settings import Settings
from services.connectors.service import SERVICE

TOYS = Path(__file__).parent / "toys"
STATEMENTS = Path(__file__).parent / "statements"


@pytest.fixture
def toys() -> Iterator[Path]:
    """Put the toy connectors' package and its entry points on the path (as pip would)."""
    sys.path.insert(0, str(TOYS))
    yield TOYS
    sys.path.remove(str(TOYS))
    sys.modules.pop("hearth_toys", None)


@pytest.fixture
def split_settings(tmp_path: Path) -> Settings:
    """Settings whose system folder (the SD card) is apart from the data folder (USB disk)."""
    return Settings(data=tmp_path / "usb" / "hearth", system_dir=tmp_path / "sd" / "hearth",
                    host="127.0.0.1", port=0)


@pytest.fixture
async def core(split_settings: Settings) -> AsyncIterator[Core]:
    """An open core with the connectors service's doctypes."""
    opened = await open_core(split_settings, [SERVICE])
    yield opened
    await opened.close()
