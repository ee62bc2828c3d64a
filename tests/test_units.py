"""The systemd units, sysusers/tmpfiles files and default config in systemd/.

systemd-analyze checks the units offline against a scratch root that holds them,
stub executables at /opt/hearth/bin and the user the sysusers file creates, so
nothing is installed on this machine.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.settings import SYSTEM_CONFIG, load_settings
from appliance.updater.intake import PENDING
from appliance.updater.pending import STATUS
from appliance.updater.upload import pending_dir

UNITS_DIR = Path(__file__).resolve().parent.parent / "systemd"
UNITS = sorted(p.name for p in UNITS_DIR.iterdir() if p.suffix in (".service", ".socket", ".path"))
EXECUTABLES = ("/opt/hearth/bin/hearth", "/opt/hearth/bin/hearth-helper",
               "/opt/hearth/bin/hearth-update")
MAX_EXPOSURE = 2.0
# The updater is root with write access to /opt: it installs and restarts Hearth.
UPDATER_MAX_EXPOSURE = 2.5

# Any of these gives a service its own mount namespace, whose mounts never reach
# the host: the helper would mount disks that hearth.service cannot see.
NAMESPACING = (
    "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
    "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc",
    "ProcSubset", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths",
    "NoExecPaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "RootDirectory",
    "RootImage", "MountImages", "PrivateIPC", "IPCNamespacePath", "DynamicUser", "MountFlags",
)

analyze = shutil.which("systemd-analyze")
# Only the tests that run systemd-analyze need it; those that read the files don't skip.
needs_analyze = pytest.mark.skipif(
    analyze is None, reason="systemd-analyze is missing (Debian package: systemd)")


def settings_of(unit: str) -> dict[str, dict[str, list[str]]]:
    """Return a unit file's settings: section -> key -> values, in file order."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS_DIR / unit).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def setting(unit: str, section: str, key: str) -> str:
    """Return the last value a unit gives `key` (the one systemd keeps for single values)."""
    values = settings_of(unit)[section].get(key)
    assert values, f"{unit} sets no {key}= in [{section}]"
    return values[-1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a command and return what it printed and its status."""
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def make_root(path: Path, units: dict[str, str]) -> Path:
    """Build a scratch root holding systemd's own units, ours, stub executables and our user."""
    shutil.copytree("/usr/lib/systemd/system", path / "usr/lib/systemd/system", symlinks=True)
    system = path / "etc/systemd/system"
    system.mkdir(parents=True)
    for name, text in units.items():
        (system / name).write_text(text)
    for exe in EXECUTABLES:
        stub = path / exe.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    if shutil.which("systemd-sysusers"):
        created = run("systemd-sysusers", f"--root={path}", str(UNITS_DIR / "hearth.sysusers"))
        assert created.returncode == 0, created.stderr
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    units = {name: (UNITS_DIR / name).read_text() for name in UNITS}
    yield make_root(tmp_path_factory.mktemp("root"), units)


def verify(root: Path, *units: str) -> list[str]:
    """Return what `systemd-analyze verify` says about our units (nothing when they are fine)."""
    result = run(str(analyze), "verify", f"--root={root}", *units)
    said = [line for line in (result.stdout + result.stderr).splitlines()
            if "hearth" in line]
    if result.returncode != 0 and not said:
        said = [f"exit status {result.returncode}: {result.stderr.strip()}"]
    return said


def test_units_are_all_there() -> None:
    assert UNITS == ["hearth-helper.service", "hearth-helper.socket", "hearth-http.socket",
                     "hearth-https.socket", "hearth-update.path", "hearth-update.service",
                     "hearth.service"]


@needs_analyze
def test_every_unit_verifies_without_a_warning(root: Path) -> None:
    assert verify(root, *UNITS) == []


@needs_analyze
def test_verify_reports_a_mistake(tmp_path: Path) -> None:
    # Guards the test above: a misspelt setting and a missing program must be seen.
    broken = (UNITS_DIR / "hearth.service").read_text().replace(
        "ProtectClock=yes", "ProtectClocks=yes").replace("/opt/hearth/bin/hearth ", "/opt/x ")
    said = "\n".join(verify(make_root(tmp_path, {"hearth.service": broken}), "hearth.service"))
    assert "ProtectClocks" in said and "/opt/x" in said


@needs_analyze
def test_daemon_exposure_is_low(root: Path) -> None:
    result = run(str(analyze), "security", "--offline=true", f"--root={root}", "hearth.service")
    found = re.search(r"Overall exposure level for hearth\.service: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    exposure = float(found.group(1))
    assert exposure <= MAX_EXPOSURE, result.stdout


def test_daemon_is_a_notify_service_with_a_watchdog() -> None:
    service = settings_of("hearth.service")["Service"]
    assert service["Type"] == ["notify"] and service["NotifyAccess"] == ["main"]
    assert service["User"] == ["hearth"]
    assert service["WatchdogSec"] == ["30"]
    assert service["Restart"] == ["on-failure"]
    assert service["ExecStart"] == [f"/opt/hearth/bin/hearth serve --config {SYSTEM_CONFIG}"]


def test_daemon_has_no_privilege() -> None:
    service = settings_of("hearth.service")["Service"]
    assert service["CapabilityBoundingSet"] == [""] and service["AmbientCapabilities"] == [""]
    assert service["NoNewPrivileges"] == ["yes"]


def test_web_ports_are_passed_by_name() -> None:
    for name, port in (("http", "80"), ("https", "443")):
        socket = settings_of(f"hearth-{name}.socket")["Socket"]
        assert socket["ListenStream"] == [port]
        assert socket["FileDescriptorName"] == [name]  # what the daemon looks up in LISTEN_FDNAMES
        assert socket["Service"] == ["hearth.service"]
        assert f"hearth-{name}.socket" in setting("hearth.service", "Service", "Sockets").split()


def test_helper_socket_is_only_for_root_and_hearth() -> None:
    socket = settings_of("hearth-helper.socket")["Socket"]
    assert socket["ListenStream"] == ["/run/hearth-helper/helper.sock"]
    assert (socket["SocketUser"], socket["SocketGroup"], socket["SocketMode"]) == (
        ["root"], ["hearth"], ["0660"])
    exec_start = setting("hearth-helper.service", "Service", "ExecStart").split()
    assert exec_start[exec_start.index("--socket") + 1] == socket["ListenStream"][0]
    # the one caller besides root, checked with SO_PEERCRED
    assert exec_start[exec_start.index("--daemon-uid") + 1] == setting(
        "hearth.service", "Service", "User")


def test_helper_mounts_where_the_daemon_sees_them() -> None:
    helper = settings_of("hearth-helper.service")["Service"]
    assert not set(helper) & set(NAMESPACING)
    assert helper["PrivateMounts"] == ["no"]  # else PrivateNetwork=yes would imply a namespace
    exec_start = helper["ExecStart"][0].split()
    mount_root = exec_start[exec_start.index("--mount-root") + 1]
    daemon = settings_of("hearth.service")["Service"]
    assert mount_root in daemon["ReadWritePaths"]
    assert daemon.get("MountFlags", ["shared"]) != ["private"]  # would hide later mounts


def test_helper_keeps_only_the_capabilities_disks_need() -> None:
    helper = settings_of("hearth-helper.service")["Service"]
    assert helper["CapabilityBoundingSet"] == ["CAP_SYS_ADMIN CAP_SETGID"]
    assert helper["NoNewPrivileges"] == ["yes"] and helper["DevicePolicy"] == ["closed"]


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers is missing")
def test_sysusers_creates_the_daemon_user(root: Path) -> None:
    passwd = {line.split(":")[0]: line.split(":") for line in
              (root / "etc/passwd").read_text().splitlines()}
    assert passwd["hearth"][5:] == ["/var/lib/hearth", "/usr/sbin/nologin"]
    groups = [line.split(":")[0] for line in (root / "etc/group").read_text().splitlines()]
    assert "hearth" in groups  # the helper socket's group


@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="systemd-tmpfiles is missing")
@pytest.mark.skipif(os.geteuid() != 0, reason="creating root-owned folders needs root")
def test_tmpfiles_creates_the_mount_root(tmp_path: Path) -> None:
    result = run("systemd-tmpfiles", f"--root={tmp_path}", "--create",
                 str(UNITS_DIR / "hearth.tmpfiles"))
    assert result.returncode == 0, result.stderr
    made = (tmp_path / "media/hearth").stat()
    assert (made.st_mode & 0o7777, made.st_uid, made.st_gid) == (0o755, 0, 0)


def test_default_config_keeps_everything_in_the_state_directory() -> None:
    settings = load_settings(config=UNITS_DIR / "hearth.toml", environ={})
    state = Path("/var/lib") / setting("hearth.service", "Service", "StateDirectory")
    assert settings.system == state  # keyring and TLS keys: on the SD card, mode 0700
    assert settings.data.parent == state  # the embedded default before a disk is adopted
    assert settings.host == "::"
    assert str(settings.helper_socket) == setting("hearth-helper.socket", "Socket", "ListenStream")
    assert setting("hearth.service", "Service", "StateDirectoryMode") == "0700"


def test_updater_watches_the_folder_the_daemon_hands_updates_to() -> None:
    settings = load_settings(config=UNITS_DIR / "hearth.toml", environ={})
    watched = setting("hearth-update.path", "Path", "PathExistsGlob")
    assert watched == str(pending_dir(settings) / "*.sig")  # the signature is moved in last
    assert Path(watched).parent == PENDING  # where apply-pending looks
    assert setting("hearth-update.path", "Path", "Unit") == "hearth-update.service"
    assert setting("hearth-update.path", "Install", "WantedBy") == "paths.target"


def test_updater_is_root_s_and_writes_a_status_the_daemon_can_read() -> None:
    service = settings_of("hearth-update.service")["Service"]
    assert service["Type"] == ["oneshot"] and "User" not in service  # root: it installs
    assert service["ExecStart"] == ["/opt/hearth/bin/hearth-update apply-pending"]
    state = Path("/var/lib") / setting("hearth-update.service", "Service", "StateDirectory")
    assert setting("hearth-update.service", "Service", "StateDirectoryMode") == "0755"
    settings = load_settings(config=UNITS_DIR / "hearth.toml", environ={})
    assert settings.update_status.parent == state == STATUS.parent
    assert not state.is_relative_to(settings.system)  # never in the daemon's own folder
    # restarting hearth.service (what an update does) must not stop the updater
    unit = settings_of("hearth-update.service")["Unit"]
    assert not {"PartOf", "BindsTo", "Requisite"} & set(unit)
    assert service["PrivateNetwork"] == ["yes"] and service["NoNewPrivileges"] == ["yes"]


@needs_analyze
def test_updater_exposure_is_limited(root: Path) -> None:
    result = run(str(analyze), "security", "--offline=true", f"--root={root}",
                 "hearth-update.service")
    found = re.search(r"Overall exposure level for hearth-update\.service: ([0-9.]+)",
                      result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= UPDATER_MAX_EXPOSURE, result.stdout
