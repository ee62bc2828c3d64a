"""What the update tests share: Hearth wheels, a restarter a host can run, releases."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.updater.releases import Releases
from appliance.updater.signature import new_key, sign


REPO = Path(__file__).resolve().parents[1]


def fake_wheel(folder: Path, version: str, body: str) -> Path:
    """Write a hearthbox wheel of this tree's appliance package, running `body` on import."""
    wheel = folder / f"hearthbox-{version}-py3-none-any.whl"
    info = f"hearthbox-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as z:
        for path in sorted((REPO / "appliance").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                name = path.relative_to(REPO).as_posix()
                if name != "appliance/__init__.py":
                    z.write(path, name)
        future = "from __future__ import annotations\n"
        init = (REPO / "appliance/__init__.py").read_text(encoding="utf-8")
        z.writestr("appliance/__init__.py", init.replace(future, future + body, 1))
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: hearthbox\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return wheel


class ServeRestarter:
    """Starting the daemon as a box does: the release in use runs `hearth serve` until READY.

    Each start runs the current release's Python on `data` with a NOTIFY_SOCKET of its own;
    it counts as started once READY=1 arrives, and is stopped (SIGTERM) right after.
    """

    def __init__(self, link: Path, data: Path) -> None:
        self.link = link
        self.data = data
        self.starts: list[str] = []

    def restart(self, timeout: float) -> bool:
        self.starts.append(self.link.resolve().name)
        address = self.data.parent / "notify.sock"
        address.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(address))
            env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
            env["NOTIFY_SOCKET"] = str(address)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            daemon = subprocess.Popen(
                [str(self.link / "bin" / "python"), "-m", "appliance.cli", "serve", "--data",
                 str(self.data), "--host", "127.0.0.1", "--port", str(port),
                 "--https-port", "0"], env=env, cwd=self.data.parent,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                return self._ready(notify, daemon, time.monotonic() + timeout)
            finally:
                daemon.terminate()
                daemon.wait(30)

    @staticmethod
    def _ready(notify: socket.socket, daemon: subprocess.Popen[bytes], deadline: float) -> bool:
        """Return True once the daemon says READY=1; False when it exits or the time is up."""
        while (left := deadline - time.monotonic()) > 0:
            notify.settimeout(min(left, 0.5))
            try:
                if notify.recv(4096) == b"READY=1":
                    return True
            except TimeoutError:
                if daemon.poll() is not None:
                    return False
        return False


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
    """A release folder holding this tree's Hearth as 0.1.0, its libraries from the test venv."""
    folder = tmp_path_factory.mktemp("base") / "0.1.0"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The libraries Hearth needs, from the venv running the tests (read after the release's own).
    Path(site, "test-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = fake_wheel(folder.parent, "0.1.0", "")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--disable-pip-version-check", str(wheel)], check=True)
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
