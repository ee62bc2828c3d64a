"""The flashable image: the recipe's checks, then build, reproducibility and QEMU smoke.

The builds need root (mmdebstrap, chroot, binfmt_misc), as in CI. They start
together on first use, since each spends most of its time in one emulated dpkg:
the Pi 2 image, the Pine64 image, and a second Pi 2 root filesystem to compare with
the first. Each builds as a fresh machine would: an empty home, no pip or package cache. `-m "not image"` leaves them out.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "image" / "build"
SMOKE = REPO / "image" / "smoke"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="image builds need root (sudo scripts/test)")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600)


def test_unknown_board_is_refused_with_the_choices() -> None:
    result = run(str(BUILD), "--board", "pi5")
    assert result.returncode == 2
    assert "unknown board 'pi5' (pi2, pine64 or generic-arm64)" in result.stderr


@as_root
def test_missing_tools_are_named_with_the_install_line(tmp_path: Path) -> None:
    # A PATH with only what the script itself runs: every build tool is then missing.
    for tool in ("bash", "dirname", "id", "sort", "tr", "printf", "git"):
        found = shutil.which(tool)
        if found:
            (tmp_path / tool).symlink_to(found)
    result = run("/bin/bash", str(BUILD), "--board", "generic-arm64",
                 env={"PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "apt-get install --no-install-recommends" in result.stderr
    for package in ("mmdebstrap", "arch-test", "genimage", "mtools", "qemu-user-static",
                    "binfmt-support"):
        assert package in result.stderr


@as_root
def test_a_failed_build_ends_by_naming_its_step_and_the_error(tmp_path: Path) -> None:
    # A mirror nobody answers on: the wheels are made (as a fresh machine makes them,
    # with no pip cache), then mmdebstrap fails, and the last line says where.
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PIP_NO_CACHE_DIR": "1",
           "XDG_CACHE_HOME": str(home / ".cache"), "MIRROR": "http://127.0.0.1:9/debian"}
    result = run(str(BUILD), "--board", "pi2", "--rootfs-only", "--out", str(tmp_path / "out"),
                 env=env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "FAILED while root filesystem (armhf, bookworm)" in last, result.stderr[-3000:]
    assert "mmdebstrap" in last
    # The Pi 2's pure-Python chunker wheel was built on the way, with no cache to lean on.
    assert list((tmp_path / "out" / "work" / "wheels").glob("pyfastcdc-*-py3-none-any.whl"))


@dataclass
class Build:
    """One image/build run in the background, its output folder and its log."""

    out: Path
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def wait(self) -> Path:
        """Wait for the build; return its folder, or fail with the end of its log."""
        code = self.process.wait(timeout=3600)
        if not self.seconds:
            self.seconds = time.monotonic() - self.started
        log = (self.out / "build.log").read_text(errors="replace")
        assert code == 0, failure_summary(log)
        return self.out


def failure_summary(log: str) -> str:
    """Return the steps a failed build went through, then the last lines of its log."""
    lines = log.splitlines()
    steps = [line for line in lines if line.startswith("image/build [")]
    return "\n".join(["steps:", *steps[-12:], "", "end of the log:", *lines[-40:]])[-6000:]


@dataclass
class Builds:
    """The builds the image tests share; started together, all at the first ask."""

    root: Path
    runs: dict[str, Build] = field(default_factory=dict)

    def start(self) -> None:
        keys = self.root / "keys"
        keys.mkdir()
        new_key = [str(REPO / ".venv" / "bin" / "hearth-update"), "new-key"]
        if not Path(new_key[0]).exists():
            new_key[0] = shutil.which("hearth-update") or "hearth-update"
        subprocess.run([*new_key, str(keys / "release.key"), str(keys / "release.pem")],
                       check=True)
        common = ["--update-key", str(keys / "release.pem")]
        self.spawn("pi2", "--board", "pi2", *common)
        self.spawn("pine64", "--board", "pine64", *common)
        # The same Pi 2 inputs again, in a build of its own: the same root must come out.
        self.spawn("pi2-again", "--board", "pi2", "--rootfs-only", *common)

    def spawn(self, name: str, *args: str) -> None:
        out = self.root / name
        out.mkdir()
        # As a fresh machine builds: an empty home, so no pip or package cache of an
        # earlier build (~/.cache) can make a build pass that would fail there.
        home = self.root / f"home-{name}"
        home.mkdir()
        fresh = {"HOME": str(home), "PIP_NO_CACHE_DIR": "1", "XDG_CACHE_HOME": str(home / ".cache")}
        with (out / "build.log").open("wb") as log:
            process = subprocess.Popen([str(BUILD), *args, "--out", str(out)], stdout=log,
                                       stderr=subprocess.STDOUT,
                                       env={**os.environ, **fresh})
        self.runs[name] = Build(out, process)

    def get(self, name: str) -> Path:
        """Return the folder of a finished build, starting every build on the first call."""
        if not self.runs:
            self.start()
        return self.runs[name].wait()

    def stop(self) -> None:
        for build in self.runs.values():
            if build.process.poll() is None:
                build.process.terminate()
                build.process.wait(timeout=120)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    shared = Builds(tmp_path_factory.mktemp("images"))
    yield shared
    shared.stop()
    shutil.rmtree(shared.root, ignore_errors=True)


def smoke(board: str, image: Path, *extra: str) -> dict[str, object]:
    serial = image.with_suffix(".serial.log")
    result = run(str(SMOKE), "--board", board, "--serial-log", str(serial), *extra, str(image))
    # A box that never answered says why on its console: show its end with the error.
    console = serial.read_text(errors="replace")[-3000:] if serial.exists() else "(no console log)"
    assert result.returncode == 0, f"{result.stderr[-3000:]}\n--- the guest's console:\n{console}"
    report: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    print(f"{board}: {report}")
    return report


@as_root
@pytest.mark.image
@pytest.mark.timeout(3600)
def test_the_pi2_image_boots_to_onboarding_and_takes_updates(builds: Builds) -> None:
    # The Pi's firmware can't be emulated: image/smoke reads its boot files from the
    # image, then boots the armmp kernel and the root under QEMU's virt board. Through
    # the box's web page it then applies a signed update, and a broken one that must
    # be rolled back.
    out = builds.get("pi2")
    check = subprocess.run(["sha256sum", "-c", "hearth-pi2.img.xz.sha256"], cwd=out,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    report = smoke("pi2", out / "hearth-pi2.img",
                   "--update-key", str(builds.root / "keys" / "release.key"))
    assert report["guest"]["user"] == "hearth"  # type: ignore[index]
    assert report["update"]["rolled_back"] is True  # type: ignore[index]


@as_root
@pytest.mark.image
@pytest.mark.timeout(3600)
def test_the_pine64_image_boots_to_onboarding(builds: Builds) -> None:
    # u-boot can't be emulated: image/smoke reads the SPL, u-boot and extlinux from the
    # image, then boots the arm64 kernel and the root under QEMU's virt board.
    out = builds.get("pine64")
    check = subprocess.run(["sha256sum", "-c", "hearth-pine64.img.xz.sha256"], cwd=out,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    report = smoke("pine64", out / "hearth-pine64.img")
    assert report["guest"]["user"] == "hearth"  # type: ignore[index]


@as_root
@pytest.mark.image
@pytest.mark.timeout(3600)
def test_same_inputs_give_the_same_root_filesystem(builds: Builds) -> None:
    first = (builds.get("pi2") / "hearth-pi2.manifest").read_text().splitlines()
    second = (builds.get("pi2-again") / "hearth-pi2.manifest").read_text().splitlines()
    assert len(first) > 10_000
    differences = sorted(set(first) ^ set(second))
    assert not differences, "\n".join(differences[:40])


def test_a_build_without_root_says_to_run_it_as_root() -> None:
    # As the developer who forgot sudo: the build stops at once and says how.
    result = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 str(BUILD), "--board", "pi2") if os.geteuid() == 0 else run(
                     str(BUILD), "--board", "pi2")
    assert result.returncode == 1
    assert "run it as root" in result.stderr
