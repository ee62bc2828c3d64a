"""A bounded memo of a pure function's results, for answers computed again and again."""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Results by key, at most `size` of them, the oldest written going first.

    The key must hold everything the result depends on: then a kept result can
    never be stale, only unused. First in, first out: a hit costs one lookup;
    a key still in use is computed again once after it went.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: K, make: Callable[..., V], *args: object) -> V:
        """Return the result kept for key, or make(*args) kept from now on."""
        try:
            return self._kept[key]
        except KeyError:
            pass
        value = self._kept[key] = make(*args)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return value
