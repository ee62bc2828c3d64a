"""Stable record ids from a connector's dedup keys, the same in the runner and the daemon."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from appliance.jobs.manifest import Dedup


class MissingKey(ValueError):
    """A record lacks one of its doctype's dedup keys."""


def record_id(slug: str, doctype: str, rule: Dedup, record: Mapping[str, Any]) -> str:
    """Return the id of a record: a hash of the connector, the doctype and the key values.

    The same record sent again gets the same id, so a stored id means a duplicate
    and the check costs one lookup, with no index.
    """
    values = []
    for key in rule.keys:
        value = record.get(key)
        if value is None or value == "":
            raise MissingKey(f"a record of {doctype} lacks its dedup key '{key}'")
        values.append(value)
    return key_id(slug, doctype, values)


def key_id(slug: str, doctype: str, values: list[Any]) -> str:
    """Return the id for these key values (what `ctx.ref` gives a connector)."""
    text = json.dumps([slug, doctype, values], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
