"""Fixtures for the browser tests: a real `hearth serve` and Debian's Chromium."""
from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from appliance import owner as owner_module
from tests.cli.shell import HEARTH
from tests.test_serving import free_port

CHROMIUM = "/usr/bin/chromium"
# Without these Chromium keeps trying to reach Google's hosts, which it cannot here.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# A phone as Playwright can fake one: a 390 px wide touch screen, Android's Chrome.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}


class Box:
    """A `hearth serve` process on a loopback port, with its own data folder."""

    def __init__(self, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "hearth.log"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")},
               **(env or {})}
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [*HEARTH, "serve", "--data", str(tmp / "data"), "--host", "127.0.0.1",
                 "--port", str(self.port), "--https-port", "0"], env=env, stdout=log,
                stderr=subprocess.STDOUT)

    def wait_until_serving(self, timeout: float = 20.0) -> None:
        """Return once GET /healthz answers; fail with the daemon's log if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"hearth serve exited with {self.proc.returncode}:\n"
                            f"{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.05)
        pytest.fail(f"hearth serve did not answer /healthz in {timeout} s:\n"
                    f"{self.log.read_text()}")

    def close(self) -> None:
        """Stop the daemon as systemd would, killing it if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    """A fresh box, never set up, served by the real daemon."""
    served = Box(tmp_path)
    try:
        served.wait_until_serving()
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright, shared by a test module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


NewContext = Callable[..., BrowserContext]
"""Open another browser on the box: `new_context(locale="fr-FR", **PHONE)`."""


@pytest.fixture
def new_context(chromium: Browser, box: Box) -> Iterator[NewContext]:
    """Open browsers (contexts with their own cookies) on the box; all closed afterwards."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        options.setdefault("locale", "en-US")
        context = chromium.new_context(base_url=box.url, **options)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context
    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every passphrase the box hashes to compare with the owner's."""
    seen: list[str] = []
    real: Callable[[str, str], bool] = owner_module.verify_passphrase

    def counting(passphrase: str, stored: str) -> bool:
        seen.append(passphrase)
        return real(passphrase, stored)
    monkeypatch.setattr(owner_module, "verify_passphrase", counting)
    return seen
