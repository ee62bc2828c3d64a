"""Where things are: Drive paths in URLs, the Drive's URLs for a path, and breadcrumbs."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from appliance.files import check_path
from appliance.web.shell import translator


def path_in(request: web.Request) -> str:
    """Return the Drive path named by the URL, in NFC, or raise InvalidName."""
    return check_path("/" + request.match_info.get("path", ""))


@dataclass(frozen=True)
class DriveUrls:
    """The Drive's URLs for a path: its folder page, item page, file and zip."""

    base: str  # "/apps/drive/"

    @classmethod
    def of(cls, request: web.Request) -> DriveUrls:
        """Return the links of the Drive this request is in."""
        return cls(str(request.app.router["root"].url_for()))

    def _under(self, kind: str, path: str) -> str:
        return f"{self.base}{kind}/{quote(path.lstrip('/'), safe='/')}"

    def folder(self, path: str) -> str:
        """Return the URL of a folder's page (the root's is the Drive's home)."""
        return self.base if path == "/" else self._under("folder", path)

    def item(self, path: str) -> str:
        """Return the URL of the page that shows one file or folder and what to do with it."""
        return self._under("item", path)

    def file(self, path: str, *, download: bool = False) -> str:
        """Return the URL of a file's content, shown in the browser or saved."""
        return self._under("file", path) + ("?download=1" if download else "")

    def zip(self, path: str) -> str:
        """Return the URL of a folder as a zip."""
        return self._under("zip", path)

    @property
    def trash(self) -> str:
        """Return the URL of the trash."""
        return self.base + "trash"


@dataclass(frozen=True)
class Crumb:
    """One step of the breadcrumbs: a folder's name and its page."""

    name: str
    url: str
    path: str


def crumbs(request: web.Request, path: str) -> list[Crumb]:
    """Return the folders from the Drive's top down to `path`, for the breadcrumbs."""
    links = DriveUrls.of(request)
    trail = [Crumb(translator(request)("Drive"), links.folder("/"), "/")]
    here = ""
    for name in [part for part in path.split("/") if part]:
        here += "/" + name
        trail.append(Crumb(name, links.folder(here), here))
    return trail


def parent_of(path: str) -> str:
    """Return the folder that holds `path` ("/" for the top and what lies in it)."""
    return path.rsplit("/", 1)[0] or "/"
