"""The security headers every answer carries: a strict CSP, nosniff, referrer, no framing.

Pages run only the box's own scripts and style sheets (no inline script, no `on…=`
attribute), can't be framed by another site, and tell other sites nothing of the
address they came from (not "no-referrer": forms would then send "Origin: null",
which the guard refuses, and a share link's address is its key). A file the Drive
shows inline keeps the policy its handler chose (a sandbox), and may be framed by the
box's own pages (the PDF preview). The `Server` header names no version: an anonymous visitor learns nothing of
what runs here.
"""
from __future__ import annotations

from aiohttp import hdrs, web

from appliance.web.guard import Handler

PAGE_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
# A file sent as itself (inline or to save): framed only by the box's own preview.
FILE_POLICY = "frame-ancestors 'self'"
SERVER_NAME = "Hearth"


def secure(response: web.StreamResponse) -> None:
    """Add the security headers to an answer that has not chosen its own."""
    headers = response.headers
    is_file = hdrs.CONTENT_DISPOSITION in headers
    policy = headers.get(hdrs.CONTENT_SECURITY_POLICY)
    if policy is None:
        headers[hdrs.CONTENT_SECURITY_POLICY] = FILE_POLICY if is_file else PAGE_POLICY
    elif "frame-ancestors" not in policy:
        framing = FILE_POLICY if is_file else "frame-ancestors 'none'"
        headers[hdrs.CONTENT_SECURITY_POLICY] = f"{policy}; {framing}"
    headers.setdefault(hdrs.X_CONTENT_TYPE_OPTIONS, "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers[hdrs.SERVER] = SERVER_NAME


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Send every answer, refusals and redirects included, with the security headers."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect, or a refusal nothing turned into a page
        secure(exc)
        raise
    secure(response)
    return response
