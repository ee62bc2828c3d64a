"""Doctype declarations: indexes, schema version, migrations and field schema."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Migration = Callable[[dict[str, Any]], dict[str, Any]]

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "number": (int, float), "bool": (bool,),
    "list": (list,), "dict": (dict,), "any": (object,),
}


class SchemaError(ValueError):
    """A document does not match its doctype's schema; the message names the field."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a doctype: its JSON type and whether it must be present."""

    type: str = "any"
    required: bool = False
    nullable: bool = True

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
        if self.fields is None:
            return
        for name in doc:
            if name in ("_id", "_rev"):
                continue
            if name not in self.fields:
                raise SchemaError(f"unknown field '{name}' for {self.name} "
                                  f"(allowed: {', '.join(sorted(self.fields))})")
        for name, spec in self.fields.items():
            if name not in doc:
                if spec.required:
                    raise SchemaError(f"field '{name}' is required for {self.name}")
                continue
            value = doc[name]
            if value is None:
                if not spec.nullable:
                    raise SchemaError(f"field '{name}' can't be null")
                continue
            wanted = _TYPES[spec.type]
            if isinstance(value, bool) and bool not in wanted and spec.type != "any":
                raise SchemaError(f"field '{name}' must be {spec.type}, not a boolean")
            if not isinstance(value, wanted):
                raise SchemaError(f"field '{name}' must be {spec.type}, "
                                  f"not {type(value).__name__}")
