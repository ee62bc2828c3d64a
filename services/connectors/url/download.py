"""Downloading one document: conditional requests, its name, and HTTP failures as error codes."""
from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from appliance.jobs.connector import (LOGIN_FAILED, NETWORK, NOT_FOUND, UNKNOWN_ERROR,
                                      VENDOR_DOWN, ConnectorError, Context)
from services.connectors.filenames import safe_name

CHUNK = 256 << 10  # bytes read from the network at a time: the file is never held whole
SESSION_VERSION = 1


def file_name(url: str, disposition: str | None) -> str:
    """Return the document's name: the server's (Content-Disposition), else the URL's last part."""
    parts = urlsplit(url)
    from_url = safe_name(posixpath.basename(unquote(parts.path)) or parts.hostname or "",
                         "document")
    return safe_name(disposition, from_url) if disposition else from_url


def folder_of(value: str) -> str:
    """Return the folder field as Drive folder names (no "..", no empty parts)."""
    parts = [p for p in value.replace("\\", "/").split("/") if p.strip() not in ("", ".", "..")]
    return "/".join(safe_name(p, "Documents") for p in parts)


def conditions(session: Mapping[str, Any] | None, url: str) -> dict[str, str]:
    """Return the headers asking the server for the document only if it changed since last run."""
    if not session or session.get("v") != SESSION_VERSION or session.get("url") != url:
        return {}
    headers = {}
    if isinstance(session.get("etag"), str):
        headers["If-None-Match"] = session["etag"]
    if isinstance(session.get("last_modified"), str):
        headers["If-Modified-Since"] = session["last_modified"]
    return headers


def _refusal(status: int, url: str) -> ConnectorError | None:
    if status in (401, 403):
        return ConnectorError(LOGIN_FAILED, f"{url} answered {status}: check the login and "
                                            f"password")
    if status in (404, 410):
        return ConnectorError(NOT_FOUND, f"{url} answered {status}: there is no document "
                                         f"there any more; check the address")
    if status >= 500 or status == 429:
        return ConnectorError(VENDOR_DOWN, f"{url} answered {status}; trying again later")
    if status >= 400:
        return ConnectorError(UNKNOWN_ERROR, f"{url} answered {status}")
    return None


async def download(ctx: Context) -> None:
    """Fetch the document the url field names; save it unless the server says it is unchanged."""
    url = ctx.fields["url"]
    login = ctx.fields.get("login") or ""
    headers = conditions(ctx.session, url)
    if login:
        headers["Authorization"] = aiohttp.encode_basic_auth(login, ctx.fields.get("password")
                                                             or "")
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, \
                http.get(url, headers=headers) as resp:
            await _receive(ctx, url, resp)
    except aiohttp.ClientConnectorDNSError as exc:
        raise ConnectorError(NETWORK, f"the name in {url} can't be found ({exc.os_error}); "
                                      f"check the address and the box's network") from None
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
        raise ConnectorError(VENDOR_DOWN, f"{url} could not be downloaded: "
                                          f"{str(exc) or type(exc).__name__}") from None


async def _receive(ctx: Context, url: str, resp: aiohttp.ClientResponse) -> None:
    if resp.status == 304:
        ctx.logger.info("%s has not changed since the last run", url)
        return
    refused = _refusal(resp.status, url)
    if refused is not None:
        raise refused
    disposition = resp.content_disposition
    name = file_name(url, disposition.filename if disposition else None)
    await ctx.save_file(name, resp.content.iter_chunked(CHUNK),
                        folder=folder_of(ctx.fields.get("folder") or ""))
    ctx.save_session({"v": SESSION_VERSION, "url": url, "etag": resp.headers.get("ETag"),
                      "last_modified": resp.headers.get("Last-Modified")})
    ctx.logger.info("%s saved as %s", url, name)
