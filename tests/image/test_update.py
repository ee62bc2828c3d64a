"""hearth-update on the host: signed wheels only, a version that does not start is rolled back,
and what the daemon leaves in pending/ is trusted only once root has its own checked copy."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appliance.updater.command import main
from appliance.updater.errors import UpdateError
from appliance.updater.pending import apply_pending, marker_of
from appliance.updater.releases import Releases
from appliance.updater.rollout import apply
from appliance.updater.signature import new_key, sign
from appliance.updater.status import UpdateStatus, write_status
from tests.updates import Box, ServeRestarter, base_release, fake_wheel, make_box

__all__ = ["base_release"]  # a fixture, shared with the web tests


@pytest.fixture
def box(tmp_path: Path, base_release: Path) -> tuple[Releases, Path, Path]:
    made = make_box(tmp_path, base_release)
    return made.releases, made.keys, made.private


@pytest.mark.timeout(300)
def test_a_signed_update_runs_and_a_broken_one_is_rolled_back(
        box: tuple[Releases, Path, Path], tmp_path: Path) -> None:
    releases, keys, private = box
    good = fake_wheel(tmp_path, "0.2.0", "VERSION = '0.2.0'\n")
    restarter = ServeRestarter(releases.current_link, tmp_path / "box-data")
    apply(good, sign(good, private), keys=keys, releases=releases, restarter=restarter, timeout=60)
    assert releases.current().name == "0.2.0"
    assert (tmp_path / "box-data" / "store").is_dir()  # 0.2.0 served, on the box's data

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
    restarter = ServeRestarter(releases.current_link, tmp_path / "box-data")
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


@pytest.fixture
def signed_box(tmp_path: Path, base_release: Path) -> Box:
    return make_box(tmp_path, base_release)


def drop(wheel: Path, pending: Path) -> None:
    """Leave an update in pending/ as the daemon does: the wheel, then its signature."""
    pending.mkdir(parents=True, exist_ok=True)
    for name in (wheel.name, wheel.name + ".sig"):
        os.replace(wheel.with_name(name), pending / name)


def run_pending(box: Box, tmp_path: Path) -> UpdateStatus | None:
    """Run what hearth-update.service runs, against the test's folders."""
    return apply_pending(tmp_path / "hearth" / "updates" / "pending",
                         work=tmp_path / "root" / "work", status=tmp_path / "root" / "status.json",
                         keys=box.keys, releases=box.releases,
                         restarter=ServeRestarter(box.releases.current_link,
                                                  tmp_path / "box-data"), timeout=60)


def status_file(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "root" / "status.json"
    assert path.stat().st_mode & 0o777 == 0o644  # the daemon, another user, reads it
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


@pytest.mark.timeout(300)
def test_apply_pending_installs_the_newest_update_and_records_how_it_ended(
        signed_box: Box, tmp_path: Path) -> None:
    pending = tmp_path / "hearth" / "updates" / "pending"
    drop(signed_box.signed(tmp_path, "0.1.5"), pending)
    drop(signed_box.signed(tmp_path, "0.2.0"), pending)
    done = run_pending(signed_box, tmp_path)
    assert done is not None and (done.state, done.version, done.previous) == (
        "done", "0.2.0", "0.1.0")
    assert signed_box.releases.current().name == "0.2.0"
    assert status_file(tmp_path)["state"] == "done"
    assert os.listdir(pending) == []  # else the path unit would fire again
    assert not (tmp_path / "root" / "work").exists()
    assert not marker_of(tmp_path / "root" / "status.json").exists()  # nothing left to settle

    drop(signed_box.signed(tmp_path, "0.3.0", "raise SystemExit('broken')\n"), pending)
    back = run_pending(signed_box, tmp_path)
    assert back is not None and (back.state, back.version, back.previous) == (
        "rolled-back", "0.3.0", "0.2.0")
    assert signed_box.releases.current().name == "0.2.0"
    assert status_file(tmp_path)["state"] == "rolled-back"
    assert run_pending(signed_box, tmp_path) is None  # nothing waits: nothing changes
    assert status_file(tmp_path)["state"] == "rolled-back"


def test_apply_pending_checks_root_s_copy_again(signed_box: Box, tmp_path: Path) -> None:
    pending = tmp_path / "hearth" / "updates" / "pending"
    # swapped after the daemon's check: the wheel no longer matches its signature
    wheel = signed_box.signed(tmp_path, "0.2.0")
    fake_wheel(tmp_path, "0.2.0", "import os; os.system('evil')\n")
    drop(wheel, pending)
    refused = run_pending(signed_box, tmp_path)
    assert refused is not None and (refused.state, refused.reason) == ("refused", "signature")
    # a downgrade, though signed
    drop(signed_box.signed(tmp_path, "0.0.9"), pending)
    older = run_pending(signed_box, tmp_path)
    assert older is not None and (older.state, older.reason) == ("refused", "older")
    assert status_file(tmp_path)["reason"] == "older"
    assert signed_box.releases.current().name == "0.1.0" and os.listdir(pending) == []


def test_apply_pending_follows_no_link_and_reads_no_device(signed_box: Box,
                                                           tmp_path: Path) -> None:
    pending = tmp_path / "hearth" / "updates" / "pending"
    roots = tmp_path / "roots-own"  # stands for a file only root may read
    roots.mkdir()
    real = signed_box.signed(roots, "0.2.0")
    pending.mkdir(parents=True)
    (pending / real.name).symlink_to(real)
    (pending / (real.name + ".sig")).write_bytes((roots / (real.name + ".sig")).read_bytes())
    refused = run_pending(signed_box, tmp_path)
    assert refused is not None and (refused.state, refused.reason) == ("refused", "files")
    assert "not a plain file" in refused.detail
    assert real.exists() and os.listdir(pending) == []
    assert signed_box.releases.current().name == "0.1.0"

    os.mkfifo(pending / real.name)  # would block a reader that opens it without O_NONBLOCK
    (pending / (real.name + ".sig")).write_bytes(b"x" * 64)
    fifo = run_pending(signed_box, tmp_path)
    assert fifo is not None and (fifo.state, fifo.reason) == ("refused", "files")

    # the whole folder swapped for a link to root's: nothing in it is read or removed
    pending.rmdir()
    pending.symlink_to(roots)
    with pytest.raises(UpdateError, match="not a plain folder"):
        run_pending(signed_box, tmp_path)
    assert sorted(os.listdir(roots)) == [real.name, real.name + ".sig"]


def test_the_apply_pending_command_says_when_nothing_waits(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply-pending", "--pending", str(tmp_path / "none"),
                 "--status", str(tmp_path / "status.json")]) == 0
    assert "no update is waiting" in capsys.readouterr().out
    assert not (tmp_path / "status.json").exists()


def cut_off(box: Box, tmp_path: Path, version: str, body: str = "", *,
            switched: bool) -> None:
    """Leave the box as a power cut in the middle of an update would: status `installing`."""
    release = box.releases.install(box.signed(tmp_path, version, body))
    if switched:
        box.releases.switch(release)
    status = tmp_path / "root" / "status.json"
    write_status(status, "installing", version, previous="0.1.0")
    marker_of(status).touch()  # what starts hearth-update.service at the next boot


@pytest.mark.timeout(300)
def test_an_update_cut_off_after_the_switch_stays_if_it_starts(
        signed_box: Box, tmp_path: Path) -> None:
    cut_off(signed_box, tmp_path, "0.2.0", switched=True)
    settled = run_pending(signed_box, tmp_path)
    assert settled is not None and (settled.state, settled.version) == ("done", "0.2.0")
    assert signed_box.releases.current().name == "0.2.0"
    assert not marker_of(tmp_path / "root" / "status.json").exists()


@pytest.mark.timeout(300)
def test_an_update_cut_off_after_the_switch_is_undone_if_it_does_not_start(
        signed_box: Box, tmp_path: Path) -> None:
    cut_off(signed_box, tmp_path, "0.2.0", "raise SystemExit('broken')\n", switched=True)
    settled = run_pending(signed_box, tmp_path)
    assert settled is not None and (settled.state, settled.previous) == ("rolled-back", "0.1.0")
    assert signed_box.releases.current().name == "0.1.0"
    assert not (signed_box.releases.root / "0.2.0").exists()
    assert status_file(tmp_path)["state"] == "rolled-back"
    assert not marker_of(tmp_path / "root" / "status.json").exists()


@pytest.mark.timeout(300)
def test_an_update_cut_off_before_the_switch_is_dropped_then_the_next_one_applies(
        signed_box: Box, tmp_path: Path) -> None:
    cut_off(signed_box, tmp_path, "0.2.0", switched=False)
    settled = run_pending(signed_box, tmp_path)
    assert settled is not None and (settled.state, settled.reason) == ("refused", "interrupted")
    assert signed_box.releases.current().name == "0.1.0"
    assert not (signed_box.releases.root / "0.2.0").exists()  # the half-made copy
    # The owner sends it again: it goes through as any update.
    drop(signed_box.signed(tmp_path, "0.2.0"), tmp_path / "hearth" / "updates" / "pending")
    again = run_pending(signed_box, tmp_path)
    assert again is not None and again.state == "done"
    assert signed_box.releases.current().name == "0.2.0"


class FullDisk(Releases):
    """Releases on a card that fills up half-way through copying the new version."""

    def install(self, wheel: Path) -> Path:
        half = self.root / "0.2.0"
        half.mkdir()
        (half / "partly").write_text("copied")
        raise OSError(28, "No space left on device")


@pytest.mark.timeout(300)
def test_an_update_that_fails_unexpectedly_is_refused_not_left_installing(
        signed_box: Box, tmp_path: Path) -> None:
    box = Box(FullDisk(signed_box.releases.root, signed_box.releases.current_link),
              signed_box.keys, signed_box.private)
    drop(box.signed(tmp_path, "0.2.0"), tmp_path / "hearth" / "updates" / "pending")
    refused = run_pending(box, tmp_path)
    assert refused is not None and (refused.state, refused.reason) == ("refused", "install")
    assert "No space left on device" in refused.detail
    assert box.releases.current().name == "0.1.0"
    assert not (box.releases.root / "0.2.0").exists()  # the half-made copy
    assert not marker_of(tmp_path / "root" / "status.json").exists()


def test_a_cut_off_status_naming_the_version_in_use_touches_no_release(
        signed_box: Box, tmp_path: Path) -> None:
    # The name in the status came from the daemon's folder: one that is not newer than the
    # version before must not make the updater remove that version (the rollback copy).
    status = tmp_path / "root" / "status.json"
    write_status(status, "installing", "0.1.0", previous="0.1.0")
    settled = run_pending(signed_box, tmp_path)
    assert settled is not None and (settled.state, settled.reason) == ("refused", "interrupted")
    assert signed_box.releases.current().name == "0.1.0"
    assert (signed_box.releases.root / "0.1.0").is_dir()
