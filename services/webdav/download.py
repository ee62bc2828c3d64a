"""GET of a file: aiohttp's sendfile and Range support, under the Drive's ETag."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest
from multidict import CIMultiDict

from appliance.files import FileEntry

logger = logging.getLogger(__name__)

# Checked against the Drive's ETag before sending (preconditions.py); aiohttp's own
# checks would use its mtime-based tag. Accept-Encoding goes too: FileResponse would
# otherwise send a neighbouring "x.gz" in place of "x".
_HANDLED = (hdrs.IF_MATCH, hdrs.IF_NONE_MATCH, hdrs.IF_MODIFIED_SINCE,
            hdrs.IF_UNMODIFIED_SINCE, hdrs.IF_RANGE, hdrs.ACCEPT_ENCODING)


def range_applies(request: web.Request, entry: FileEntry) -> bool:
    """Return whether a Range header is to be honoured (If-Range, RFC 9110 §13.1.5)."""
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is None:
        return True
    if if_range.strip().startswith(('"', "W/")):
        return if_range.strip() == entry.etag  # strong comparison only
    since = request.if_range
    return since is not None and int(entry.updated_at) <= since.timestamp()


def small(entry: FileEntry, st: os.stat_result, content: bytes) -> web.Response:
    """Return a small file read already, with the headers a Download would send."""
    response = web.Response(body=content, content_type=entry.mime,
                            headers={hdrs.ETAG: entry.etag, hdrs.ACCEPT_RANGES: "bytes"})
    response.last_modified = st.st_mtime
    # Said even for an empty file's HEAD, as FileResponse does (aiohttp would leave it out).
    response.headers[hdrs.CONTENT_LENGTH] = str(len(content))
    return response


class Download(web.FileResponse):
    """A file sent with sendfile (memory stays flat), its ETag the Drive's."""

    def __init__(self, path: Path, entry: FileEntry, *, ranged: bool) -> None:
        super().__init__(path)
        self._drive_etag = entry.etag
        self._ranged = ranged
        self.content_type = entry.mime

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        """Send the file, letting aiohttp handle only the Range header."""
        headers = CIMultiDict(request.headers)
        for name in _HANDLED + (() if self._ranged else (hdrs.RANGE,)):
            headers.popall(name, None)
        writer = await super().prepare(request.clone(headers=headers))
        return writer

    @property  # type: ignore[override]
    def etag(self) -> object:
        """Return the ETag sent."""
        return self.headers.get(hdrs.ETAG)

    @etag.setter
    def etag(self, value: object) -> None:
        # FileResponse sets its mtime-based tag just before sending: keep the Drive's.
        self.headers[hdrs.ETAG] = self._drive_etag
