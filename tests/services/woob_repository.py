"""A woob repository served on loopback, as updates.woob.tech serves woob's: an index and archives."""
from __future__ import annotations

import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODULES = Path(__file__).parents[1] / "jobs" / "woob" / "woob_modules"
VERSION = "202612030000"


class _Quiet(SimpleHTTPRequestHandler):
    """Serve the repository's folder, remembering what was asked for, without logging."""

    asked: list[str]

    def do_GET(self) -> None:
        self.asked.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _gpg(home: Path, *args: str) -> None:
    subprocess.run(["gpg", "--batch", "--quiet", "--homedir", str(home), *args], check=True,
                   capture_output=True, env={**os.environ, "LC_ALL": "C"})


def sign(folder: Path) -> None:
    """Sign the repository as woob's is: a keyring, and a detached signature per archive."""
    home = folder.parent / f"{folder.name}-gnupg"  # the maintainer's key stays off the site
    home.mkdir(mode=0o700, exist_ok=True)
    _gpg(home, "--passphrase", "", "--quick-gen-key", "Hearth tests <tests@hearth.invalid>",
         "ed25519", "sign", "never")
    _gpg(home, "--output", str(folder / "trusted.gpg"), "--export")
    for name in ("trusted.gpg", "fakebank.tar.gz"):
        _gpg(home, "--yes", "--output", str(folder / f"{name}.sig"), "--detach-sign",
             str(folder / name))


def build(folder: Path, url: str, *, signed: bool = False) -> None:
    """Write a woob repository holding the tests' fakebank module into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "fakebank.tar.gz", "w:gz") as tar:
        tar.add(MODULES / "fakebank", "fakebank",
                filter=lambda info: None if "__pycache__" in info.name else info)
    if signed:
        sign(folder)
    (folder / "modules.list").write_text(
        f"[DEFAULT]\nname = hearth-tests\nupdate = {VERSION}\nmaintainer = Hearth\n"
        f"signed = {int(signed)}\nkey_update = {int(signed)}\nurl = {url}\n\n"
        f"[fakebank]\nversion = {VERSION}\ncapabilities = CapBank CapDocument\n"
        f"description = Fake bank for tests\nmaintainer = Hearth\nlicense = LGPLv3+\n"
        f"icon =\nwoob_spec = >=3.0\n")


@contextmanager
def woob_repository(folder: Path, *, signed: bool = False
                    ) -> Iterator[tuple[str, list[str]]]:
    """Serve a repository on 127.0.0.1; yield its URL and the paths asked of it."""
    asked: list[str] = []
    handler = type("Handler", (_Quiet,), {"asked": asked})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    build(folder, url, signed=signed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
