"""Finding connectors: every one by its entry point in the `hearth.connectors` group.

The built-in connectors (services/connectors/) are declared in Hearth's own
pyproject.toml like any third-party one; they are told apart by their distribution.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from appliance.jobs.connector import Connector
from appliance.jobs.manifest import Manifest

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hearth.connectors"
DISTRIBUTION = "hearthbox"  # connectors it declares are the built-in ones


class UnknownConnector(LookupError):
    """No installed connector has this slug."""


@dataclass(frozen=True)
class InstalledConnector:
    """An installed connector: its manifest and where its class lives ("module:attr")."""

    manifest: Manifest
    ref: str
    builtin: bool

    @property
    def slug(self) -> str:
        """Return the connector's slug."""
        return self.manifest.slug

    def load(self) -> type[Connector]:
        """Return the connector's class."""
        return _load(self.ref)


def _load(ref: str) -> type[Connector]:
    module, _, attr = ref.partition(":")
    found = getattr(importlib.import_module(module), attr or "CONNECTOR")
    if not (isinstance(found, type) and issubclass(found, Connector)):
        raise TypeError(f"{ref} is not a Connector class")
    if not isinstance(getattr(found, "manifest", None), Manifest):
        raise TypeError(f"{ref} has no manifest")
    return found


def _refs(name: str | None = None) -> list[tuple[str, bool]]:
    """Return (ref, built in) for the connectors declared (under `name` only, if given)."""
    found = entry_points(group=ENTRY_POINT_GROUP) if name is None else \
        entry_points(group=ENTRY_POINT_GROUP, name=name)
    return [(ep.value, _builtin(ep)) for ep in found]


def _builtin(ep: EntryPoint) -> bool:
    return ep.dist is not None and ep.dist.name == DISTRIBUTION


def discover() -> dict[str, InstalledConnector]:
    """Return every installed connector by slug; broken ones are logged and left out."""
    found: dict[str, InstalledConnector] = {}
    for ref, builtin in _refs():
        try:
            manifest = _load(ref).manifest
        except Exception:  # a broken third-party connector must not stop the box
            logger.exception("connector %s could not be loaded; it is left out", ref)
            continue
        if manifest.slug in found:
            logger.error("two connectors claim the slug %r; keeping %s", manifest.slug,
                         found[manifest.slug].ref)
            continue
        found[manifest.slug] = InstalledConnector(manifest, ref, builtin)
    return dict(sorted(found.items()))


def _quick(slug: str) -> InstalledConnector | None:
    # By convention a connector's entry point bears its slug: a run then imports its own
    # connector only.
    for ref, builtin in _refs(slug):
        try:
            manifest = _load(ref).manifest
        except (ImportError, AttributeError, TypeError):
            continue
        if manifest.slug == slug:
            return InstalledConnector(manifest, ref, builtin)
    return None


def find(slug: str) -> InstalledConnector:
    """Return the installed connector with this slug, or raise UnknownConnector."""
    quick = _quick(slug)
    if quick is not None:
        return quick
    entries = discover()
    if slug not in entries:
        known = ", ".join(entries) or "none"
        raise UnknownConnector(f"there is no connector {slug!r} (installed: {known}; "
                               f"see: hearth connector list)")
    return entries[slug]
