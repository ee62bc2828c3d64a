"""Notes as Markdown files in the Drive's Notes folder: list, read, save, create, search."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.files import FileEntry, FileTree
from appliance.files.errors import Exists, InvalidName, NotFound, TooLarge
from appliance.files.names import check_name, numbered

logger = logging.getLogger(__name__)

FOLDER = "/Notes"
EXTENSIONS = (".md", ".markdown", ".txt")
MAX_CHARS = 100_000   # a long note is a few thousand; a form post stays under 1 MiB
MAX_BYTES = 3 * MAX_CHARS
TITLE_CHARS = 80
HEAD_BYTES = 4096     # enough of a file to find its first line
_UNSAFE = re.compile(r'[\s/\\:*?"<>|]+')  # with \s: line breaks, tabs, runs of spaces


def title_of(text: str, fallback: str = "") -> str:
    """Return a note's title: its first line that has words, without Markdown's # or >."""
    for line in text.splitlines():
        line = line.strip().lstrip("#>").strip()
        if line:
            return line[:TITLE_CHARS]
    return fallback


def file_name_for(text: str) -> str:
    """Return a file name made from a note's title ("Courses.md"); "Note.md" if it has none."""
    stem = _UNSAFE.sub(" ", title_of(text)).strip(" .")[:TITLE_CHARS].strip(" .")
    try:
        return check_name(f"{stem}.md") if stem else "Note.md"
    except InvalidName:
        return "Note.md"


def is_note(name: str) -> bool:
    """Tell whether a file name is one of the notes (Markdown or plain text)."""
    return name.lower().endswith(EXTENSIONS) and not name.startswith(".")


@dataclass(frozen=True)
class Note:
    """A note as the list shows it."""

    entry: FileEntry
    title: str


def _head(real: Path) -> str:
    with real.open("rb") as fh:
        return fh.read(HEAD_BYTES).decode("utf-8", "replace")


def _read(real: Path) -> str:
    with real.open("rb") as fh:
        return fh.read(MAX_BYTES).decode("utf-8", "replace")


async def _chunks(text: str) -> AsyncIterator[bytes]:
    yield text.encode("utf-8")


def clean(text: str) -> str:
    """Return a note's text as it is kept: Unix line ends, one final line end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip("\n") + "\n" if text.strip() else ""


class Notebook:
    """The Notes folder of the Drive, created on first use."""

    def __init__(self, tree: FileTree) -> None:
        self._tree = tree

    def path_of(self, name: str) -> str:
        """Return the path of a note by its file name (InvalidName if it isn't one)."""
        name = check_name(name)
        if not is_note(name):
            raise InvalidName(f"{name!r} is not a note (notes end in .md or .txt)")
        return f"{FOLDER}/{name}"

    async def ensure(self) -> None:
        """Create the Notes folder if it is missing."""
        try:
            await self._tree.stat(FOLDER)
        except NotFound:
            try:
                await self._tree.mkdir(FOLDER)
                logger.info("created the %s folder for notes", FOLDER)
            except Exists:
                pass  # made meanwhile by another request

    async def notes(self) -> list[Note]:
        """Return every note, most recently changed first, with its title."""
        await self.ensure()
        entries = [e for e in await self._tree.list(FOLDER) if not e.is_dir and is_note(e.name)]
        reals = [await self._tree.locate(e.path) for e in entries]
        heads = await asyncio.to_thread(lambda: [_safe(_head, r) for r in reals])
        notes = [Note(e, title_of(head, e.name.rsplit(".", 1)[0]))
                 for e, head in zip(entries, heads)]
        return sorted(notes, key=lambda n: n.entry.updated_at, reverse=True)

    async def read(self, name: str) -> tuple[FileEntry, str]:
        """Return a note's entry (whose etag a save must match) and its text."""
        entry = await self._tree.stat(self.path_of(name))  # before reading: see save()
        if entry.is_dir:
            raise NotFound(f"{name!r} is a folder, not a note")
        if entry.size > MAX_BYTES:  # never edit (and save) a part of it
            raise TooLarge(f"{name!r} is too big to edit here; open it from the Drive "
                           "on a computer")
        real = await self._tree.locate(entry.path)
        try:
            return entry, await asyncio.to_thread(_read, real)
        except OSError as exc:
            raise NotFound(f"{name!r} can't be read: {exc.strerror}") from exc

    async def save(self, name: str, text: str, etag: str) -> FileEntry:
        """Replace a note, only if it is still the version with `etag` (Conflict if not).

        The etag was taken before the text was read, so a change made in between
        shows up as a conflict rather than being overwritten.
        """
        return await self._tree.write(self.path_of(name), _chunks(clean(text)), if_match=etag)

    async def create(self, text: str) -> FileEntry:
        """Save a new note under a name made from its title, numbered if taken."""
        await self.ensure()
        name = file_name_for(text)
        for number in range(1, 1000):
            candidate = name if number == 1 else numbered(name, number)
            try:
                return await self._tree.write(f"{FOLDER}/{candidate}", _chunks(clean(text)),
                                              overwrite=False)
            except Exists:
                continue
        raise Exists(f"too many notes are named {name!r}; give this one another title")

    async def trash(self, name: str) -> FileEntry:
        """Put a note in the Drive's trash."""
        return await self._tree.trash(self.path_of(name))

    async def texts(self) -> list[tuple[Note, str]]:
        """Return every note with its whole text (read in a thread), newest first."""
        notes = await self.notes()
        reals = [await self._tree.locate(n.entry.path) for n in notes]
        texts = await asyncio.to_thread(lambda: [_safe(_read, r) for r in reals])
        return list(zip(notes, texts))


def _safe(read: Callable[[Path], str], real: Path) -> str:
    """Return what `read(real)` gives, or "" for a file that vanished or can't be read."""
    try:
        return read(real)
    except OSError as exc:
        logger.warning("the note %s can't be read: %s", real.name, exc)
        return ""
