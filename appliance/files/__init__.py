"""The owner's file tree: plain files on the data disk, their metadata in io.hearth.files."""
from __future__ import annotations

from appliance.files.entry import FileEntry
from appliance.files.errors import (
    Conflict,
    Exists,
    FilesError,
    InvalidName,
    InvalidTag,
    NoSpace,
    NotADirectory,
    NotEmpty,
    NotFound,
    TooLarge,
)
from appliance.files.names import check_name, check_path
from appliance.files.rescan import RescanReport
from appliance.files.tree import FileTree

DOCTYPE = "io.hearth.files"
INDEXES = ("path", "dir_id")

__all__ = [
    "DOCTYPE",
    "INDEXES",
    "Conflict",
    "Exists",
    "FileEntry",
    "FileTree",
    "FilesError",
    "InvalidName",
    "InvalidTag",
    "NoSpace",
    "NotADirectory",
    "NotEmpty",
    "NotFound",
    "RescanReport",
    "TooLarge",
    "check_name",
    "check_path",
]
