"""Copying the owner's data folder to a new disk, verified, with progress (blocking code)."""
from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from appliance.durable import atomic_file, fsync_dir, write_all

CHUNK = 1024 * 1024
# What moves with the owner; system/ (keys) stays on the SD card.
MOVED = ("files", "trash", "store", "disk.json")

Report = Callable[[str, int], None]  # (phase, bytes done in that phase)


class MoveError(Exception):
    """The copy could not be made or does not match; the message says which file."""


@dataclass(frozen=True)
class MovePlan:
    """What a move will copy: the files and their total size."""

    files: tuple[Path, ...]
    dirs: tuple[Path, ...]
    total: int


@dataclass(frozen=True)
class Progress:
    """How far a move has come, for the progress bar."""

    phase: str  # counting, copying, verifying, switching, done, failed
    done: int = 0
    total: int = 0
    message: str = ""

    @property
    def percent(self) -> int:
        """Return the share done in this phase, 0–100."""
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)


def _walk(root: Path) -> Iterator[tuple[Path, bool]]:
    for name in MOVED:
        top = root / name
        if top.is_file():
            yield Path(name), False
        elif top.is_dir():
            yield Path(name), True
            for folder, dirnames, filenames in os.walk(top):
                rel = Path(folder).relative_to(root)
                dirnames.sort()
                for d in dirnames:
                    yield rel / d, True
                for f in sorted(filenames):
                    if f != ".lock":  # the store's lock belongs to its process
                        yield rel / f, False


def plan(source: Path) -> MovePlan:
    """Return what moving `source` involves."""
    files, dirs, total = [], [], 0
    for rel, is_dir in _walk(source):
        if is_dir:
            dirs.append(rel)
        else:
            files.append(rel)
            total += (source / rel).stat().st_size
    return MovePlan(tuple(files), tuple(dirs), total)


def copy(source: Path, target: Path, what: MovePlan, report: Report) -> None:
    """Copy the planned files from `source` into `target`, each fsynced, reporting bytes."""
    done = 0
    for rel in what.dirs:
        (target / rel).mkdir(parents=True, exist_ok=True)
    for rel in what.files:
        dest = target / rel
        partial = dest.with_name(dest.name + ".hearth-partial")
        # the folders are synced once, below, not after each file
        with (source / rel).open("rb") as src, \
                atomic_file(dest, temp=partial, sync_folder=False) as out:
            offset = 0
            while chunk := src.read(CHUNK):
                write_all(out, chunk, offset)
                offset += len(chunk)
                done += len(chunk)
                report("copying", done)
            shutil.copystat(source / rel, partial)
    for rel in (*what.dirs, Path(".")):
        fsync_dir(target / rel)


def _digest(path: Path, report: Callable[[int], None]) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            report(len(chunk))
    return sha.hexdigest()


def verify(source: Path, target: Path, what: MovePlan, report: Report) -> None:
    """Raise MoveError unless every planned file reads back identical in `target`."""
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        report("verifying", done)
    for rel in what.files:
        if not (target / rel).is_file():
            raise MoveError(f"{rel} is missing on the new disk")
        if _digest(source / rel, lambda n: None) != _digest(target / rel, step):
            raise MoveError(f"{rel} differs on the new disk")
