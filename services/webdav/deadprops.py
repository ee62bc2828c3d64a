"""Dead properties (set by clients with PROPPATCH), kept in the store by file id."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from appliance.store import Collection
from services.webdav.errors import DavError

logger = logging.getLogger(__name__)

DOCTYPE = "io.hearth.webdav.properties"
MAX_BYTES = 64 * 1024  # per resource: Windows and macOS keep a few hundred bytes there


class DeadProperties:
    """Each file's properties as {Clark name: XML text}; they follow moves, go on delete.

    They are keyed by the Drive's file id, which stays the same across renames
    and moves, so a MOVE needs nothing done here.
    """

    def __init__(self, collection: Callable[[], Collection]) -> None:
        self._collection = collection
        self._lock = asyncio.Lock()  # read-modify-write of one document at a time

    def _doc(self, file_id: str) -> dict[str, Any] | None:
        found = self._collection().find({"file": file_id}, limit=1)
        return found[0] if found else None

    def any(self) -> bool:
        """Tell whether any resource has dead properties (most boxes: none)."""
        return len(self._collection()) > 0

    def get(self, file_id: str) -> dict[str, str]:
        """Return the dead properties of a file or folder."""
        return _props(self._doc(file_id))

    async def change(self, file_id: str, ops: Iterable[tuple[str, str | None]]) -> None:
        """Apply PROPPATCH's set (XML text) and remove (None) in order; 507 if too big."""
        async with self._lock:
            doc = self._doc(file_id)
            props = _props(doc)
            for name, value in ops:
                if value is None:
                    props.pop(name, None)
                else:
                    props[name] = value
            size = len(json.dumps(props))
            if size > MAX_BYTES:
                raise DavError(507, f"These properties take {size} bytes; a file or folder "
                                    f"keeps at most {MAX_BYTES}. Remove some first.")
            await self._save(file_id, doc, props)

    async def _save(self, file_id: str, doc: dict[str, Any] | None,
                    props: dict[str, str]) -> None:
        coll = self._collection()
        if doc is None:
            if props:
                await coll.create({"file": file_id, "props": props})
        elif props:
            await coll.put({**doc, "props": props})
        else:
            await coll.delete(str(doc["_id"]), str(doc["_rev"]))

    async def copy(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Give each destination id the properties of its source id (COPY)."""
        async with self._lock:
            for src, dst in pairs:
                props = self.get(src)
                if props:
                    await self._save(dst, self._doc(dst), props)

    async def drop(self, file_ids: Iterable[str]) -> None:
        """Forget the properties of resources that are gone."""
        async with self._lock:
            for file_id in file_ids:
                doc = self._doc(file_id)
                if doc is not None:
                    await self._save(file_id, doc, {})


def _props(doc: dict[str, Any] | None) -> dict[str, str]:
    props = doc.get("props") if doc is not None else None
    return dict(props) if isinstance(props, dict) else {}
