"""What every sharing page gets besides the shell's context: its assets, sizes and dates."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from appliance.web.shell import render
from appliance.web.storage_page import sizes_for


def day(epoch: float) -> str:
    """Return a date the same way in every language: 2027-03-12."""
    return time.strftime("%Y-%m-%d", time.localtime(epoch))


def page(template: str, request: web.Request, context: Mapping[str, Any], *,
         status: int = 200) -> web.Response:
    """Render a sharing page with `static(name)` (this service's files) and `sizes`."""
    def static(name: str) -> str:
        return str(request.app.router["static"].url_for(filename=name))
    return render(template, request, {"static": static, "sizes": sizes_for(request), **context},
                  status=status)
