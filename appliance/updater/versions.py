"""Update file names and versions: what a Hearth wheel is called and which one is newer."""
from __future__ import annotations

import re

# A version is digits and dots, with an optional pre-release (a1, b2, rc3): nothing
# that could name a folder other than its own under /opt/hearth-releases.
RELEASE = r"[0-9]+(?:\.[0-9]+)*"
VERSION = rf"{RELEASE}(?:(?:a|b|rc)[0-9]+)?"
WHEEL_NAME = re.compile(rf"^hearthbox-({VERSION})-py3-none-any\.whl$")
SIGNATURE_SUFFIX = ".sig"
MAX_UPDATE_BYTES = 64 * 1024 * 1024  # a Hearth wheel is well under 2 MiB; room to grow


def wheel_version(name: str) -> str | None:
    """Return the version a Hearth wheel's file name carries, or None if it is not one."""
    found = WHEEL_NAME.match(name)
    return found.group(1) if found else None


def version_key(version: str) -> tuple[tuple[int, ...], tuple[int, int]]:
    """Return a sort key for a version: releases by number, a pre-release before its release."""
    found = re.fullmatch(rf"({RELEASE})(?:(a|b|rc)([0-9]+))?", version)
    if found is None:
        return ((0,), (0, 0))  # a checkout that was not installed ("0+unknown"): oldest
    release = tuple(int(part) for part in found.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]  # 0.2 and 0.2.0 are the same version
    pre = (("a", "b", "rc").index(found.group(2)), int(found.group(3))) if found.group(2) \
        else (3, 0)
    return release, pre


def is_newer(candidate: str, running: str) -> bool:
    """Return whether candidate is a later version than running."""
    return version_key(candidate) > version_key(running)
