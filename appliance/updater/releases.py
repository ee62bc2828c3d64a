"""The versions kept on the box, each in its own folder, and the link naming the one in use."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.updater.errors import UpdateError
from appliance.updater.versions import WHEEL_NAME

RELEASES = Path("/opt/hearth-releases")
CURRENT = Path("/opt/hearth")


@dataclass
class Releases:
    """The versions kept on the box, and the link that names the one in use."""

    root: Path = RELEASES
    current_link: Path = CURRENT

    def current(self) -> Path:
        """Return the folder of the version in use."""
        return self.current_link.resolve()

    def switch(self, release: Path) -> None:
        """Point the link at release, atomically (a rename over the old link)."""
        temporary = self.current_link.with_name(self.current_link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.path.relpath(release, self.current_link.parent))
        temporary.replace(self.current_link)

    def install(self, wheel: Path) -> Path:
        """Copy the version in use and install the wheel into the copy; return its folder."""
        version = WHEEL_NAME.match(wheel.name)
        assert version is not None
        target = self.root / version.group(1)
        if target == self.current():
            raise UpdateError(f"version {version.group(1)} is already the one in use")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.current(), target, symlinks=True)
        result = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install",
                                 "--quiet", "--no-index", "--no-deps", "--no-cache-dir",
                                 "--disable-pip-version-check", "--force-reinstall", str(wheel)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise UpdateError(f"the update did not install, nothing was changed: {result.stderr}")
        return target

    def prune(self, keep: Sequence[Path]) -> None:
        """Remove the versions other than keep (the one in use and the one before)."""
        for folder in self.root.iterdir():
            if folder.is_dir() and not folder.is_symlink() and folder not in keep:
                shutil.rmtree(folder)
