"""The flashable image: the recipe's checks, and (opt-in) build, reproducibility and QEMU smoke.

Building one image takes 6 to 15 minutes under emulation on two shared cores, so
the builds run only with HEARTH_IMAGE_TESTS=1 (and as root); the rest always runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "image" / "build"
SMOKE = REPO / "image" / "smoke"
slow = pytest.mark.skipif(os.environ.get("HEARTH_IMAGE_TESTS") != "1" or os.geteuid() != 0,
                          reason="image builds take minutes: set HEARTH_IMAGE_TESTS=1, as root")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600)


def test_unknown_board_is_refused_with_the_choices() -> None:
    result = run(str(BUILD), "--board", "pi5")
    assert result.returncode == 2
    assert "unknown board 'pi5' (pi2, pine64 or generic-arm64)" in result.stderr


def test_missing_tools_are_named_with_the_install_line(tmp_path: Path) -> None:
    # A PATH with only what the script itself runs: every build tool is then missing.
    for tool in ("bash", "dirname", "id", "sort", "tr", "printf", "git"):
        found = shutil.which(tool)
        if found:
            (tmp_path / tool).symlink_to(found)
    result = run("/bin/bash", str(BUILD), "--board", "generic-arm64",
                 env={"PATH": str(tmp_path)})
    if os.geteuid() != 0:
        assert "run it as root" in result.stderr
        return
    assert result.returncode == 1
    assert "apt-get install --no-install-recommends" in result.stderr
    for package in ("mmdebstrap", "genimage", "mtools", "qemu-user-static", "binfmt-support"):
        assert package in result.stderr


BOARDS = ("generic-arm64", "pi2", "pine64")


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """Each board's build folder, built once for the module on first use."""
    return {}


def build(board: str, built: dict[str, Path], factory: pytest.TempPathFactory) -> Path:
    if board not in built:
        out = factory.mktemp(board)
        result = run(str(BUILD), "--board", board, "--out", str(out))
        assert result.returncode == 0, result.stderr[-3000:]
        built[board] = out
    return built[board]


@slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("board", BOARDS)
def test_image_boots_to_onboarding(board: str, built: dict[str, Path],
                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    # The Pine64's u-boot and the Pi's firmware can't be emulated: image/smoke reads
    # their boot files from the image, then boots its kernel and root under QEMU's virt.
    out = build(board, built, tmp_path_factory)
    xz = out / f"hearth-{board}.img.xz"
    check = subprocess.run(["sha256sum", "-c", xz.name + ".sha256"], cwd=out,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    result = run(str(SMOKE), "--board", board, str(out / f"hearth-{board}.img"))
    assert result.returncode == 0, result.stderr
    assert '"user": "hearth"' in result.stdout


@slow
@pytest.mark.timeout(3600)
def test_same_inputs_give_the_same_root_filesystem(built: dict[str, Path], tmp_path: Path,
                                                   tmp_path_factory: pytest.TempPathFactory
                                                   ) -> None:
    first_out = build("generic-arm64", built, tmp_path_factory)
    result = run(str(BUILD), "--board", "generic-arm64", "--rootfs-only", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    first = (first_out / "hearth-generic-arm64.manifest").read_text().splitlines()
    second = (tmp_path / "hearth-generic-arm64.manifest").read_text().splitlines()
    differences = sorted(set(first) ^ set(second))
    assert not differences, "\n".join(differences[:40])
    shutil.rmtree(tmp_path / "rootfs", ignore_errors=True)
