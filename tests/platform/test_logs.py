"""Logging set-up: concise stderr lines, or structured journal entries under systemd."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.logs import setup_logging

REPO = Path(__file__).resolve().parents[2]
JOURNAL_DIR = Path("/run/systemd/journal")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Give back the root and aiohttp.access loggers as pytest set them up."""
    root, access = logging.getLogger(), logging.getLogger("aiohttp.access")
    handlers, level, access_level = root.handlers[:], root.level, access.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    access.setLevel(access_level)


def test_stderr_lines_carry_time_level_logger_message_and_fields(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert setup_logging("info", environ={}) == "stderr"
    log = logging.getLogger("appliance.drive")
    log.info("mounted %s", "/media/usb", extra={"hearth_service": "drive",
                                                "hearth_label": "My Disk", "other": "x"})
    log.debug("not shown at info")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO appliance\.drive: "
                        r'mounted /media/usb hearth_service=drive hearth_label="My Disk"',
                        lines[0]), lines[0]


def test_fields_stay_on_the_first_line_of_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info", environ={})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("appliance.drive").exception("eject failed",
                                                       extra={"hearth_service": "drive"})
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("eject failed hearth_service=drive")
    assert lines[-1] == "RuntimeError: boom"


def test_calling_twice_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("warning", environ={})
    setup_logging("DEBUG", environ={})
    logging.getLogger("appliance.x").debug("once")
    assert capsys.readouterr().err.count("once") == 1


@pytest.mark.parametrize(("level", "access_level"), [
    ("info", logging.WARNING), ("error", logging.WARNING), ("debug", logging.DEBUG)])
def test_aiohttp_access_lines_only_when_debugging(level: str, access_level: int) -> None:
    setup_logging(level, environ={})
    assert logging.getLogger("aiohttp.access").getEffectiveLevel() == access_level


def test_an_unknown_level_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown log level 'loud': use one of debug, info"):
        setup_logging("loud", environ={})


def test_journal_stream_without_systemd_python_falls_back_to_stderr() -> None:
    code = textwrap.dedent("""
        import logging, sys
        sys.modules["systemd.journal"] = None  # as on a laptop without systemd-python
        from appliance.logs import setup_logging
        print(setup_logging("info", environ={"JOURNAL_STREAM": "8:1234"}))
        logging.getLogger("appliance.drive").info("hello", extra={"hearth_service": "drive"})
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=30, check=True)
    assert done.stdout == "stderr\n"
    assert done.stderr.rstrip().endswith("INFO appliance.drive: hello hearth_service=drive")


# Runs inside a private mount namespace: a tmpfs hides the machine's /run/systemd,
# so the socket bound here is the only journal socket libsystemd can find.
JOURNAL_CHILD = textwrap.dedent("""
    import json, logging, os, socket, subprocess, sys
    from pathlib import Path
    target = Path("/run/systemd/journal")
    top = next(p for p in [target, *target.parents] if p.is_dir())
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hearth-test", str(top)], check=True)
    target.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(target / "socket"))
    sock.settimeout(5)
    from appliance.logs import setup_logging
    destination = setup_logging("info", environ={"JOURNAL_STREAM": "8:1234"})
    logging.getLogger("appliance.drive").warning(
        "disk %s is full", "DATA", extra={"hearth_service": "drive", "hearth_disk": "DATA"})
    sys.stdout.buffer.write(json.dumps(destination).encode() + b"\\n" + sock.recv(65536))
""")


def parse_native(datagram: bytes) -> dict[str, bytes]:
    """Return the fields of a journald native-protocol datagram."""
    fields, rest = {}, datagram
    while rest:
        line, _, rest = rest.partition(b"\n")
        if b"=" in line:
            name, _, value = line.partition(b"=")
        else:  # NAME\n, 64-bit little-endian length, value, \n
            (size,) = struct.unpack("<Q", rest[:8])
            name, value, rest = line, rest[8:8 + size], rest[9 + size:]
        fields[name.decode()] = value
    return fields


def test_under_systemd_records_go_to_the_journal_with_fields() -> None:
    pytest.importorskip("systemd.journal", reason="systemd-python is not installed")
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--mount", "true"],
                                         capture_output=True).returncode != 0:
        pytest.skip("needs `unshare --mount` (util-linux, run as root) for a private /run")
    existed = JOURNAL_DIR.exists()
    done = subprocess.run([unshare, "--mount", "--propagation", "private",
                           sys.executable, "-c", JOURNAL_CHILD],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    head, _, datagram = done.stdout.partition(b"\n")
    assert json.loads(head) == "journal"
    fields = parse_native(datagram)
    assert fields["MESSAGE"] == b"disk DATA is full"
    assert fields["PRIORITY"] == b"4"
    assert fields["SYSLOG_IDENTIFIER"] == b"hearth"
    assert fields["HEARTH_SERVICE"] == b"drive"
    assert fields["HEARTH_DISK"] == b"DATA"
    assert fields["LOGGER"] == b"appliance.drive"
    assert all(re.fullmatch(r"[A-Z0-9][A-Z0-9_]*", name) for name in fields), sorted(fields)
    assert JOURNAL_DIR.exists() == existed  # the machine's own /run was left alone
