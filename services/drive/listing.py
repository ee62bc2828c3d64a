"""Entries as a page lists them: sorted, a page at a time, with their links and icons."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from appliance.files import FileEntry
from appliance.files.names import fold
from appliance.web.storage_page import sizes_for
from services.drive.locations import DriveUrls, parent_of

PER_PAGE = 200
SORTS = ("name", "date", "size")

# What the browser can show by itself, so the item page shows it and the file opens inline.
_PREVIEWS = {
    "image": {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp",
              "image/svg+xml"},
    "pdf": {"application/pdf"},
    "video": {"video/mp4", "video/webm", "video/ogg"},
    "audio": {"audio/mpeg", "audio/ogg", "audio/wav", "audio/x-wav", "audio/flac",
              "audio/mp4", "audio/aac", "audio/webm"},
    "text": {"text/plain"},
}
_ICONS = {"folder": "📁", "image": "🖼️", "pdf": "📕", "video": "🎞️", "audio": "🎵",
          "text": "📝"}


def preview_of(entry: FileEntry) -> str | None:
    """Return how the browser can show a file ("image", "pdf"…), or None if it can't."""
    if entry.is_dir:
        return None
    return next((kind for kind, mimes in _PREVIEWS.items() if entry.mime in mimes), None)


@dataclass(frozen=True)
class ListingOrder:
    """How a listing is sorted: by name, date or size; folders always come first."""

    by: str = "name"
    descending: bool = False

    @classmethod
    def of(cls, request: web.Request) -> ListingOrder:
        """Return the order a page's query asks for (?sort=date&desc=1)."""
        by = request.query.get("sort", "name")
        return cls(by if by in SORTS else "name", request.query.get("desc") == "1")

    def toggled(self, by: str) -> dict[str, str]:
        """Return the query of the link that sorts by `by` (twice: the other way round)."""
        descending = not self.descending if by == self.by else by != "name"
        return {"sort": by, "desc": "1" if descending else "0"}

    def apply(self, entries: Sequence[FileEntry]) -> list[FileEntry]:
        """Return the entries in this order, folders first."""
        def key(e: FileEntry) -> tuple[float, str]:
            if self.by == "date":
                return e.updated_at, fold(e.name)
            if self.by == "size":
                return e.size, fold(e.name)
            return 0, fold(e.name)
        ordered = sorted(entries, key=key, reverse=self.descending)
        return [e for e in ordered if e.is_dir] + [e for e in ordered if not e.is_dir]


@dataclass(frozen=True)
class Row:
    """One entry of a listing, with what the page needs to show it."""

    entry: FileEntry
    url: str            # where tapping the name goes
    item_url: str       # the page with what can be done with it
    download_url: str   # the file, or the folder as a zip
    icon: str
    size: str           # "" for folders
    place: str          # the folder it is in ("/" for the top)
    place_url: str


def rows(request: web.Request, entries: Sequence[FileEntry]) -> list[Row]:
    """Return the rows of a listing."""
    links, size_words = DriveUrls.of(request), sizes_for(request)
    found = []
    for e in entries:
        kind = "folder" if e.is_dir else preview_of(e)
        found.append(Row(
            entry=e, url=links.folder(e.path) if e.is_dir else links.item(e.path),
            item_url=links.item(e.path),
            download_url=links.zip(e.path) if e.is_dir else links.file(e.path, download=True),
            icon=_ICONS.get(kind or "", "📄"), size="" if e.is_dir else size_words(e.size),
            place=parent_of(e.path), place_url=links.folder(parent_of(e.path))))
    return found


@dataclass(frozen=True)
class Pages:
    """One page of a long listing, and the links to the pages around it."""

    rows: list[Row]
    number: int
    count: int
    previous: str | None
    next: str | None


def paged(request: web.Request, entries: Sequence[FileEntry]) -> Pages:
    """Return the page of `entries` the query asks for (?page=2), PER_PAGE at a time."""
    count = max(1, -(-len(entries) // PER_PAGE))
    raw = request.query.get("page", "1")
    number = min(max(int(raw) if raw.isdigit() else 1, 1), count)
    start = (number - 1) * PER_PAGE

    def link(n: int) -> str | None:
        return str(request.rel_url.update_query(page=str(n))) if 1 <= n <= count else None
    return Pages(rows(request, entries[start:start + PER_PAGE]), number, count,
                 link(number - 1), link(number + 1))
