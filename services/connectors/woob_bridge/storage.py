"""woob's storage interface over a plain dict that the run keeps as its sealed session."""
from __future__ import annotations

import copy
from typing import Any


class SessionStorage:
    """Holds woob's backend storage (its browser state: cookies, tokens) in memory.

    It implements woob's IStorage methods; `data` goes into ctx.save_session at
    the end of a run, sealed, instead of woob's YAML file in the home folder.
    """

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = copy.deepcopy(data) if data else {}

    def load(self, what: str, name: str, default: dict[str, Any] | None = None) -> None:
        """Start a backend's storage from `default`, overlaid with what was kept."""
        kept = self.data.setdefault(what, {}).get(name, {})
        self.data[what][name] = {**copy.deepcopy(default or {}), **kept}

    def save(self, what: str, name: str) -> None:
        """Nothing to write: the run saves the session once, at its end."""

    def set(self, what: str, name: str, *args: Any) -> None:
        """Set the value at a path: set(what, name, key…, value)."""
        node = self.data.setdefault(what, {}).setdefault(name, {})
        for key in args[:-2]:
            node = node.setdefault(key, {})
        node[args[-2]] = args[-1]

    def delete(self, what: str, name: str, *args: Any) -> None:
        """Remove the value at a path, if there is one."""
        node = self.data.get(what, {}).get(name, {})
        for key in args[:-1]:
            node = node.get(key, {})
        if isinstance(node, dict) and args:
            node.pop(args[-1], None)

    def get(self, what: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Return the value at a path, or `default` (woob's YAML storage does the same)."""
        node: Any = self.data.get(what, {}).get(name, {})
        for key in args:
            if not isinstance(node, dict) or key not in node:
                return kwargs.get("default")
            node = node[key]
        return node
