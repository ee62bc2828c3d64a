"""A woob repository served on loopback, as updates.woob.tech serves woob's: an index and archives."""
from __future__ import annotations

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


def build(folder: Path, url: str) -> None:
    """Write a woob repository holding the tests' fakebank module into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "fakebank.tar.gz", "w:gz") as tar:
        tar.add(MODULES / "fakebank", "fakebank",
                filter=lambda info: None if "__pycache__" in info.name else info)
    (folder / "modules.list").write_text(
        f"[DEFAULT]\nname = hearth-tests\nupdate = {VERSION}\nmaintainer = Hearth\n"
        f"signed = 0\nurl = {url}\n\n"
        f"[fakebank]\nversion = {VERSION}\ncapabilities = CapBank CapDocument\n"
        f"description = Fake bank for tests\nmaintainer = Hearth\nlicense = LGPLv3+\n"
        f"icon =\nwoob_spec = >=3.0\n")


@contextmanager
def woob_repository(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve a repository on 127.0.0.1; yield its URL and the paths asked of it."""
    asked: list[str] = []
    handler = type("Handler", (_Quiet,), {"asked": asked})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    build(folder, url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
