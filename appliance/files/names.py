"""Names and paths of the file tree: what is allowed, in Unicode NFC, and how to compare them."""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable

from appliance.files.errors import InvalidName, InvalidTag

ROOT = "/"
NAME_MAX = 255  # bytes of UTF-8, the limit of ext4, exFAT and NTFS alike
PATH_MAX = 4096
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])", re.IGNORECASE)
# What computers leave behind in a folder, never taken in as the owner's files.
_JUNK = frozenset({
    ".DS_Store", ".localized", ".Spotlight-V100", ".Trashes", ".fseventsd",
    ".TemporaryItems", ".DocumentRevisions-V100", "Thumbs.db", "ehthumbs.db",
    "desktop.ini", "$RECYCLE.BIN", "System Volume Information", "lost+found",
})
_JUNK_PREFIXES = ("._", "~$", ".~lock.")


def _refuse(name: str, why: str) -> InvalidName:
    return InvalidName(f"{name!r} can't be used as a name: {why}")


def check_name(name: str) -> str:
    """Return the name in Unicode NFC, or raise InvalidName saying in plain words what is wrong."""
    if not isinstance(name, str):
        raise InvalidName(f"a name must be text, not {type(name).__name__}")
    name = unicodedata.normalize("NFC", name)
    if name == "":
        raise InvalidName("a name can't be empty")
    if name in (".", ".."):
        raise _refuse(name, "it means the current or the upper folder")
    if "/" in name:
        raise _refuse(name, "it contains '/', which separates folders")
    if "\\" in name:
        raise _refuse(name, "it contains '\\', which separates folders on Windows")
    # Printable ASCII (most names) holds neither control characters nor surrogates.
    for char in () if name.isascii() and name.isprintable() else name:
        category = unicodedata.category(char)
        if category == "Cc":
            raise _refuse(name, "it contains a control character (like a line break, "
                          "a tab or a NUL)")
        if category == "Cs":
            raise _refuse(name, "it isn't valid text (it holds bytes that aren't UTF-8)")
    size = len(name.encode("utf-8"))
    if size > NAME_MAX:
        raise _refuse(name, f"it is too long ({size} bytes in UTF-8, at most {NAME_MAX}); "
                      "shorten it")
    if name.endswith((".", " ")):
        raise _refuse(name, "it ends with a dot or a space, which Windows drops (the file "
                      "could not be opened there)")
    if _RESERVED.fullmatch(name.split(".", 1)[0].rstrip(" ")):
        raise _refuse(name, "Windows reserves it for a device (CON, PRN, AUX, NUL, COM1-9, "
                      "LPT1-9, with or without an extension)")
    return name


def check_path(path: str) -> str:
    """Return "/a/b" in NFC (the root is "/"), each part checked, or raise InvalidName."""
    if not isinstance(path, str):
        raise InvalidName(f"a path must be text, not {type(path).__name__}")
    path = unicodedata.normalize("NFC", path)
    size = len(path.encode("utf-8", "surrogatepass"))
    if size > PATH_MAX:
        raise InvalidName(f"the path is too long ({size} bytes in UTF-8, at most {PATH_MAX}); "
                          "use shorter names or fewer nested folders")
    # Repeated slashes mean one, as everywhere in POSIX; "." and ".." are refused.
    parts = [part for part in path.split("/") if part != ""]
    for part in parts:
        try:
            check_name(part)
        except InvalidName as exc:
            raise InvalidName(f"the path {path!r} can't be used: {exc}") from None
    return ROOT + "/".join(parts)


def split(path: str) -> tuple[str, str]:
    """Return (parent path, name) of a checked path other than the root."""
    parent, _, name = path.rpartition("/")
    return parent or ROOT, name


def join(parent: str, name: str) -> str:
    """Return the path of `name` inside the folder `parent`."""
    return f"{parent.rstrip('/')}/{name}"


def parts(path: str) -> list[str]:
    """Return the names along a checked path ([] for the root)."""
    return [part for part in path.split("/") if part]


def is_within(path: str, folder: str) -> bool:
    """Tell whether `path` is `folder` or lies somewhere inside it."""
    return folder == ROOT or path == folder or path.startswith(folder + "/")


def rebase(path: str, old: str, new: str) -> str:
    """Return `path`, which lies within `old`, as it is once `old` is moved to `new`."""
    return new + path[len(old):]


def fold(text: str) -> str:
    """Return text without case and accents, for searching ("Éléphant" -> "elephant")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def is_junk(name: str) -> bool:
    """Tell whether a name found on the disk is clutter left by a computer (.DS_Store, ._x)."""
    return name in _JUNK or name.startswith(_JUNK_PREFIXES)


def numbered(name: str, number: int, *, folder: bool = False) -> str:
    """Return "cat (2).jpg" for ("cat.jpg", 2) ("Photos (2)" for a folder), kept valid."""
    stem, ext = (name, "") if folder else os.path.splitext(name)
    suffix = f" ({number}){ext}"
    room = NAME_MAX - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return check_name(f"{stem or 'item'}{suffix}")


TAG_MAX = 100


def check_tags(tags: Iterable[str]) -> list[str]:
    """Return tags trimmed, in NFC, without repeats, or raise InvalidTag saying what is wrong."""
    if isinstance(tags, str):
        raise InvalidTag("give the tags as a list, not as one text")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidTag(f"a tag must be text, not {type(tag).__name__}")
        tag = unicodedata.normalize("NFC", tag).strip()
        if not tag or len(tag) > TAG_MAX:
            raise InvalidTag(f"a tag must have 1 to {TAG_MAX} characters: {tag!r}")
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in tag):
            raise InvalidTag(f"the tag {tag!r} contains a control character")
        if tag not in clean:
            clean.append(tag)
    return clean
