"""The systemd restarter, run against a stub `systemctl` on PATH that records what it is asked."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from appliance.updater.restarter import SystemdRestarter


def stub_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, restart: str,
                   state: str) -> Path:
    """Put a `systemctl` first on PATH: `restart` is its shell body for restart, `state`
    what is-active prints; every call's arguments go, one call a line, to the returned log."""
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "systemctl.log"
    script = folder / "systemctl"
    script.write_text(f"""#!/bin/sh
echo "$*" >> {shlex.quote(str(log))}
case "$1" in
  restart) {restart} ;;
  is-active) echo {shlex.quote(state)}; [ {shlex.quote(state)} = active ] ;;
esac
""")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return log


def test_a_restart_that_reaches_active_counts_as_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = stub_systemctl(tmp_path, monkeypatch, restart="exit 0", state="active")
    assert SystemdRestarter().restart(timeout=10) is True
    assert log.read_text() == "restart hearth.service\nis-active hearth.service\n"


def test_a_unit_that_failed_after_restart_is_not_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = stub_systemctl(tmp_path, monkeypatch, restart="exit 0", state="failed")
    assert SystemdRestarter(unit="hearth-test.service").restart(timeout=10) is False
    assert log.read_text() == "restart hearth-test.service\nis-active hearth-test.service\n"


def test_a_failed_restart_is_reported_without_asking_the_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    log = stub_systemctl(tmp_path, monkeypatch, restart="exit 1", state="active")
    assert SystemdRestarter().restart(timeout=10) is False
    assert log.read_text() == "restart hearth.service\n"
    assert "hearth.service did not start" in caplog.text


def test_a_restart_that_hangs_past_the_timeout_is_not_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = stub_systemctl(tmp_path, monkeypatch, restart="exec sleep 60", state="active")
    assert SystemdRestarter().restart(timeout=0.5) is False
    assert log.read_text() == "restart hearth.service\n"
