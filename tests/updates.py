"""What the update tests share: fake Hearth wheels, a restarter a host can run, releases."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.updater.releases import Releases
from appliance.updater.signature import new_key, sign


def fake_wheel(folder: Path, version: str, body: str) -> Path:
    """Write a hearthbox wheel whose appliance package runs body on import."""
    wheel = folder / f"hearthbox-{version}-py3-none-any.whl"
    info = f"hearthbox-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("appliance/__init__.py", body)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: hearthbox\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return wheel


class ImportRestarter:
    """Starting the daemon, as far as a host can: the current release must import it."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.starts: list[str] = []

    def restart(self, timeout: float) -> bool:
        self.starts.append(self.link.resolve().name)
        result = subprocess.run([str(self.link / "bin" / "python"), "-c", "import appliance"],
                                capture_output=True, timeout=timeout, cwd=self.link)
        return result.returncode == 0


@dataclass
class Box:
    """Releases as on a box (0.1.0 in use), its trusted key folder and the signer's key."""

    releases: Releases
    keys: Path
    private: Path

    def signed(self, folder: Path, version: str, body: str = "") -> Path:
        """Write a wheel signed with the box's key; return the wheel (its .sig is beside it)."""
        wheel = fake_wheel(folder, version, body)
        sign(wheel, self.private)
        return wheel


@pytest.fixture(scope="module")
def base_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base") / "0.1.0"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder


def make_box(tmp_path: Path, base_release: Path) -> Box:
    """Lay out /opt/hearth-releases/0.1.0, the /opt/hearth link and a key pair under tmp_path."""
    root = tmp_path / "opt" / "hearth-releases"
    root.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(base_release), str(root / "0.1.0")], check=True)
    link = tmp_path / "opt" / "hearth"
    link.symlink_to("hearth-releases/0.1.0")
    keys = tmp_path / "keys"
    keys.mkdir()
    new_key(tmp_path / "release.key", keys / "release.pem")
    return Box(Releases(root, link), keys, tmp_path / "release.key")
