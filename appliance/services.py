"""The service contract: what a service declares and the narrow context it gets."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from appliance.doctypes import Doctype

if TYPE_CHECKING:
    from appliance.files import FileTree
    from appliance.store import Collection

Notify = Callable[[str, str, str], Awaitable[object]]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hearth.services"


@dataclass(frozen=True)
class ServiceContext:
    """What a service may use: its own collections, its files folder, a logger, a clock.

    `notify(kind, title, body)` tells the owner something in the notifications area;
    `drive()` is the owner's file tree (it follows the data disk: call it per request).
    """

    collections: Mapping[str, Collection]
    files_dir: Callable[[], Path]
    drive: Callable[[], FileTree]
    notify: Notify
    logger: logging.Logger
    clock: Callable[[], float]

    @property
    def files(self) -> Path:
        """Return the service's folder in the Drive (it moves with the data disk)."""
        return self.files_dir()


@dataclass(frozen=True)
class Service:
    """A service declares itself; nothing runs at import or construction time.

    `routes(ctx)` returns the sub-application mounted under `/apps/<id>/`; its
    handlers render templates from `templates` (a package with a templates/
    folder) inside the UI shell. `doctypes` are the collections it owns and the
    only ones its context exposes; `backup` names what must be backed up
    (default: all its doctypes).
    """

    id: str
    name: str
    description: str
    icon: str
    routes: Callable[[ServiceContext], web.Application] | None = None
    doctypes: tuple[Doctype, ...] = ()
    templates: str | None = None
    backup: tuple[str, ...] | None = None
    order: int = 100
    mount: str | None = None  # a prefix other than /apps/<id>/ (WebDAV lives at /dav/)
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """Return the URL prefix the service's routes are mounted under."""
        return self.mount or f"/apps/{self.id}/"

    def backed_up(self) -> tuple[str, ...]:
        """Return the doctypes this service needs backed up."""
        return self.backup if self.backup is not None else tuple(d.name for d in self.doctypes)


def discover() -> tuple[Service, ...]:
    """Return the services installed through the `hearth.services` entry point group."""
    found: dict[str, Service] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = ep.load()
        except Exception:  # a broken third-party service must not stop the box
            logger.exception("service %s could not be loaded; it is left out", ep.name)
            continue
        if not isinstance(spec, Service):
            logger.error("entry point %s is not a Service; it is left out", ep.value)
            continue
        if spec.id in found:
            logger.error("two services claim the id %r; keeping the first", spec.id)
            continue
        found[spec.id] = spec
    return tuple(sorted(found.values(), key=lambda s: (s.order, s.id)))
