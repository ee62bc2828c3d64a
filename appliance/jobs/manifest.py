"""A connector's manifest: who it is, what the owner fills in, when it runs, what it writes."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from appliance.errors import UserError
from appliance.i18n import N_

FREQUENCIES = ("hourly", "daily", "weekly", "monthly")
FIELD_TYPES = ("text", "password", "email", "url", "number", "choice", "drive_path")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DOCTYPE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")
MAX_VALUE = 4096  # characters in one field's value


class ManifestError(ValueError):
    """A connector's manifest is not usable; the message says what to change."""


class FieldError(UserError, ValueError):
    """A value the owner typed is not usable; `message` is a translatable msgid."""

    def __init__(self, field_name: str, message: str, **params: Any) -> None:
        super().__init__(message, field=field_name, **params)
        self.field = field_name


@dataclass(frozen=True)
class Field:
    """One thing the owner fills in for an account (a login, a password, a Drive folder).

    `secret` fields (passwords are always secret) are sealed at rest and never
    shown again. `pattern` is a regular expression the whole value must match.
    A `drive_path` names a file or folder of the Drive that the run may read.
    """

    name: str
    label: str
    type: str = "text"
    required: bool = False
    secret: bool = False
    pattern: str | None = None
    help: str = ""
    default: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not FIELD_NAME.match(self.name):
            raise ManifestError(f"field name {self.name!r} must be lowercase letters, "
                                f"digits and _ (at most 40)")
        if self.type not in FIELD_TYPES:
            raise ManifestError(f"field {self.name!r} has type {self.type!r}; "
                                f"use one of {', '.join(FIELD_TYPES)}")
        if self.type == "choice" and not self.choices:
            raise ManifestError(f"choice field {self.name!r} needs choices")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ManifestError(f"field {self.name!r}: bad pattern: {exc}") from None

    @property
    def is_secret(self) -> bool:
        """Return whether the value is sealed at rest and never shown again."""
        return self.secret or self.type == "password"

    def check(self, raw: str) -> str:
        """Return the value cleaned, or raise FieldError saying what is wrong with it."""
        value = raw if self.is_secret else raw.strip()
        if not value:
            if self.required:
                raise FieldError(self.name, N_("%(field)s is required."))
            return ""
        if len(value) > MAX_VALUE:
            raise FieldError(self.name, N_("%(field)s is too long."))
        if any(ord(c) < 32 for c in value):
            raise FieldError(self.name, N_("%(field)s holds control characters."))
        if self.type == "choice" and value not in self.choices:
            raise FieldError(self.name, N_("%(field)s must be one of: %(choices)s."),
                             choices=", ".join(self.choices))
        if self.type == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise FieldError(self.name, N_("%(field)s must be a number."))
        if self.type == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
            raise FieldError(self.name, N_("%(field)s must be an e-mail address."))
        if self.type == "url" and not re.match(r"https?://[^\s/]+", value):
            raise FieldError(self.name, N_("%(field)s must start with https:// or http://."))
        if self.type == "drive_path" and not value.startswith("/"):
            value = "/" + value
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise FieldError(self.name, N_("%(field)s does not have the expected form."))
        return value


@dataclass(frozen=True)
class Dedup:
    """How the records of one doctype are told apart: by the values of `keys`.

    A record whose keys match a stored one is a duplicate and is skipped, unless
    `update` is set: then its fields are merged into the stored document (when
    `newer` names a field, only if the record's value is not older).
    """

    keys: tuple[str, ...]
    update: bool = False
    newer: str | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise ManifestError("dedup needs at least one key field")


@dataclass(frozen=True)
class Manifest:
    """Everything Hearth needs to know about a connector before running it.

    `time_window` is (first hour, last hour) in the box's local time: scheduled
    runs happen at a random moment inside it. `timeout` is in seconds,
    `memory_mb` the address space a run may use. `doctypes` maps each doctype the
    connector writes to its dedup rule.
    """

    slug: str
    name: str
    vendor: str
    version: str
    fields: tuple[Field, ...] = ()
    doctypes: Mapping[str, Dedup] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    data_types: tuple[str, ...] = ()
    description: str = ""
    frequency: str = "daily"
    time_window: tuple[int, int] = (0, 5)
    timeout: float = 900.0
    memory_mb: int = 256
    cpu_seconds: int | None = None  # default: the timeout
    interactive: bool = False  # it may ask the owner questions (two-factor codes)

    def __post_init__(self) -> None:
        if not SLUG.match(self.slug):
            raise ManifestError(f"slug {self.slug!r} must be lowercase letters, digits and -")
        if self.frequency not in FREQUENCIES:
            raise ManifestError(f"{self.slug}: frequency {self.frequency!r} is not one of "
                                f"{', '.join(FREQUENCIES)}")
        start, end = self.time_window
        if not (0 <= start <= 23 and 1 <= end <= 24 and start < end):
            raise ManifestError(f"{self.slug}: time_window {self.time_window} must be "
                                f"(first hour 0-23, last hour 1-24), first < last")
        if not 1 <= self.timeout <= 6 * 3600:
            raise ManifestError(f"{self.slug}: timeout must be 1 s to 6 h")
        if not 32 <= self.memory_mb <= 4096:
            raise ManifestError(f"{self.slug}: memory_mb must be 32 to 4096")
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ManifestError(f"{self.slug}: two fields have the same name")
        for doctype in self.doctypes:
            if not DOCTYPE.match(doctype):
                raise ManifestError(f"{self.slug}: {doctype!r} is not a doctype name")
        object.__setattr__(self, "doctypes", MappingProxyType(dict(self.doctypes)))

    @property
    def cpu_limit(self) -> int:
        """Return the processor seconds a run may use."""
        return self.cpu_seconds if self.cpu_seconds is not None else int(self.timeout) + 1

    def field(self, name: str) -> Field:
        """Return the field called `name` (KeyError if there is none)."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def check(self, values: Mapping[str, str], *, keep: frozenset[str] = frozenset()
              ) -> dict[str, str]:
        """Return every field's value cleaned; raise FieldError for the first bad one.

        Fields named in `keep` are secrets already stored: an empty value keeps them.
        """
        unknown = sorted(set(values) - {f.name for f in self.fields})
        if unknown:
            raise FieldError(unknown[0], N_("%(field)s is not a field of this connector."))
        cleaned: dict[str, str] = {}
        for spec in self.fields:
            raw = values.get(spec.name, "")
            if spec.name in keep and not raw:
                continue
            cleaned[spec.name] = spec.check(raw if raw or spec.is_secret else spec.default)
        return cleaned

    def describe(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready data (for `hearth connector list`)."""
        return {
            "slug": self.slug, "name": self.name, "vendor": self.vendor,
            "version": self.version, "categories": list(self.categories),
            "data_types": list(self.data_types), "frequency": self.frequency,
            "time_window": list(self.time_window), "timeout": self.timeout,
            "doctypes": {d: list(rule.keys) for d, rule in self.doctypes.items()},
            "fields": [{"name": f.name, "type": f.type, "required": f.required,
                        "secret": f.is_secret, "pattern": f.pattern} for f in self.fields],
        }
