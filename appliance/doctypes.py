"""Doctype declarations: indexes, schema version, migrations and field schema."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Migration = Callable[[dict[str, Any]], dict[str, Any]]

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "number": (int, float), "bool": (bool,),
    "list": (list,), "dict": (dict,), "any": (object,),
    "link": (str,),  # a web link: see is_web_link
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
WEB_SCHEMES = ("http", "https")
MAX_LINK = 2000


def is_web_link(value: object) -> bool:
    """Return whether `value` is a link a page may follow: http, https, or relative.

    Anything a browser would run or open elsewhere (javascript:, data:, file:) is
    not; neither is a link with spaces or control characters, which browsers strip
    (a tab inside "javascript:" still runs it).
    """
    if not isinstance(value, str) or not value or len(value) > MAX_LINK:
        return False
    if any(c <= " " or c == "\x7f" for c in value):
        return False
    scheme = _SCHEME.match(value)
    return scheme is None or scheme.group(1).lower() in WEB_SCHEMES


class SchemaError(ValueError):
    """A document does not match its doctype's schema; the message names the field."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a doctype: its JSON type and whether it must be present.

    A "link" is a string that is a web link (http, https or relative: see
    `is_web_link`). A "dict" may declare its own `fields`, checked the same way.
    """

    type: str = "any"
    required: bool = False
    nullable: bool = True
    fields: Mapping[str, FieldSpec] | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"unknown field type {self.type!r}; use one of {', '.join(_TYPES)}")


@dataclass(frozen=True)
class Doctype:
    """A doctype a service owns; `fields` set means unknown fields are refused."""

    name: str
    indexes: tuple[str, ...] = ()
    version: int = 0
    migrations: tuple[Migration, ...] = ()
    fields: Mapping[str, FieldSpec] | None = None
    private: bool = False  # never reachable through the data API or a token
    api_writable: bool = True  # False: the data API only reads it (its owner writes it)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def validate(self, doc: Mapping[str, Any]) -> None:
        """Raise SchemaError if the document does not match this doctype's fields."""
        if self.fields is not None:
            _check_fields(self.name, self.fields, doc, prefix="")


def _check_fields(owner: str, fields: Mapping[str, FieldSpec], doc: Mapping[str, Any], *,
                  prefix: str) -> None:
    for name in doc:
        if name in ("_id", "_rev") and not prefix:
            continue
        if name not in fields:
            raise SchemaError(f"unknown field '{prefix}{name}' for {owner} "
                              f"(allowed: {', '.join(sorted(fields))})")
    for name, spec in fields.items():
        label = prefix + name
        if name not in doc:
            if spec.required:
                raise SchemaError(f"field '{label}' is required for {owner}")
            continue
        value = doc[name]
        if value is None:
            if not spec.nullable:
                raise SchemaError(f"field '{label}' can't be null")
            continue
        wanted = _TYPES[spec.type]
        if isinstance(value, bool) and bool not in wanted and spec.type != "any":
            raise SchemaError(f"field '{label}' must be {spec.type}, not a boolean")
        if not isinstance(value, wanted):
            shown = "str" if spec.type == "link" else spec.type
            raise SchemaError(f"field '{label}' must be {shown}, "
                              f"not {type(value).__name__}")
        if spec.type == "link" and not is_web_link(value):
            raise SchemaError(f"field '{label}' must be an http, https or relative link")
        if spec.fields is not None and isinstance(value, Mapping):
            _check_fields(owner, spec.fields, value, prefix=label + ".")
