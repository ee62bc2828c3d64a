"""hearth-update on the host: signed wheels only, and a version that does not start is rolled back."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appliance.update import Releases, UpdateError, apply, new_key, sign


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


@pytest.fixture(scope="module")
def base_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base") / "0.1.0"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder


@pytest.fixture
def box(tmp_path: Path, base_release: Path) -> tuple[Releases, Path, Path]:
    root = tmp_path / "opt" / "hearth-releases"
    root.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(base_release), str(root / "0.1.0")], check=True)
    link = tmp_path / "opt" / "hearth"
    link.symlink_to("hearth-releases/0.1.0")
    keys = tmp_path / "keys"
    keys.mkdir()
    new_key(tmp_path / "release.key", keys / "release.pem")
    return Releases(root, link), keys, tmp_path / "release.key"


@pytest.mark.timeout(300)
def test_a_signed_update_runs_and_a_broken_one_is_rolled_back(
        box: tuple[Releases, Path, Path], tmp_path: Path) -> None:
    releases, keys, private = box
    good = fake_wheel(tmp_path, "0.2.0", "VERSION = '0.2.0'\n")
    restarter = ImportRestarter(releases.current_link)
    apply(good, sign(good, private), keys=keys, releases=releases, restarter=restarter, timeout=60)
    assert releases.current().name == "0.2.0"

    broken = fake_wheel(tmp_path, "0.3.0", "raise SystemExit('broken release')\n")
    with pytest.raises(UpdateError, match="rolled back; 0.2.0 runs again"):
        apply(broken, sign(broken, private), keys=keys, releases=releases,
              restarter=restarter, timeout=60)
    assert releases.current().name == "0.2.0"
    assert restarter.starts == ["0.2.0", "0.3.0", "0.2.0"]
    assert not (releases.root / "0.3.0").exists()


def test_an_unsigned_or_foreign_update_changes_nothing(
        box: tuple[Releases, Path, Path], tmp_path: Path) -> None:
    releases, keys, _ = box
    wheel = fake_wheel(tmp_path, "0.2.0", "")
    restarter = ImportRestarter(releases.current_link)
    with pytest.raises(UpdateError, match="no signature"):
        apply(wheel, tmp_path / "missing.sig", keys=keys, releases=releases,
              restarter=restarter, timeout=60)
    other = tmp_path / "other"
    other.mkdir()
    new_key(other / "k", other / "p.pem")
    with pytest.raises(UpdateError, match="not signed by a key this box trusts"):
        apply(wheel, sign(wheel, other / "k"), keys=keys, releases=releases,
              restarter=restarter, timeout=60)
    assert releases.current().name == "0.1.0" and restarter.starts == []
