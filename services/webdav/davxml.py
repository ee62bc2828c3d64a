"""WebDAV's XML: bodies parsed without DTDs or entities, and the elements we answer with."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from http import HTTPStatus
from xml.parsers import expat

from aiohttp import web

from services.webdav.errors import DavError, bad_request

logger = logging.getLogger(__name__)

DAV_NS = "DAV:"
HEARTH_NS = "https://hearth.local/ns/webdav"
MAX_BODY = 1024 * 1024  # a PROPFIND, PROPPATCH or LOCK body is a few hundred bytes


def dav(name: str) -> str:
    """Return the Clark name of an element in the DAV: namespace."""
    return "{DAV:}" + name


def element(tag: str, *children: ET.Element | None, text: str | None = None) -> ET.Element:
    """Return an element with these children (None ones left out) and text."""
    node = ET.Element(tag)
    node.extend(child for child in children if child is not None)
    if text is not None:
        node.text = text
    return node


def href(value: str) -> ET.Element:
    """Return a DAV:href element."""
    return element(dav("href"), text=value)


def serialize(root: ET.Element) -> bytes:
    """Return an element as a UTF-8 XML document, DAV: written with the usual D: prefix."""
    ET.register_namespace("D", DAV_NS)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def to_text(node: ET.Element) -> str:
    """Return an element as XML text that declares its namespaces (how dead props are kept)."""
    ET.register_namespace("D", DAV_NS)
    return ET.tostring(node, encoding="unicode")


async def read_body(request: web.Request) -> bytes:
    """Return a request's XML body; 413 past MAX_BODY bytes."""
    too_big = DavError(413, f"The request body is over {MAX_BODY // 1024} KiB; WebDAV "
                            "requests this large are refused.")
    if (request.content_length or 0) > MAX_BODY:
        raise too_big
    parts, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            raise too_big
        parts.append(chunk)
    return b"".join(parts)


def _clark(name: str) -> str:
    uri, sep, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if sep else name


def _refuse(*_: object) -> None:
    raise bad_request("XML with a DOCTYPE or entity declarations is refused here, "
                      "for safety; send the body without them.")


def parse(body: bytes) -> ET.Element:
    """Return the root element of a request body; 400 for XML that is broken or has a DTD."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate("utf-8", namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.StartElementHandler = lambda name, attrs: builder.start(
        _clark(name), {_clark(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda name: builder.end(_clark(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise bad_request(f"The XML body is not well-formed ({expat.ErrorString(exc.code)}, "
                          f"line {exc.lineno}); check the client's request.") from None
    root: ET.Element = builder.close()
    return root


def stored(text: str) -> ET.Element:
    """Return a dead property kept as XML text by to_text."""
    return parse(text.encode("utf-8"))


def error_body(condition: str | None, message: str, location: str | None = None) -> bytes:
    """Return a DAV:error body naming the precondition, with the message for people."""
    root = element(dav("error"))
    if condition is not None:
        root.append(element(dav(condition), href(location) if location else None))
    root.append(element(f"{{{HEARTH_NS}}}message", text=message))
    return serialize(root)


def status(code: int) -> ET.Element:
    """Return a DAV:status element ("HTTP/1.1 200 OK")."""
    return element(dav("status"), text=f"HTTP/1.1 {code} {HTTPStatus(code).phrase}")


def propstat(props: Iterable[ET.Element], code: int) -> ET.Element:
    """Return a DAV:propstat: these properties, all with this status."""
    return element(dav("propstat"), element(dav("prop"), *props), status(code))


def response(location: str, *parts: ET.Element) -> ET.Element:
    """Return a DAV:response for one resource: its href, then propstats or a status."""
    return element(dav("response"), href(location), *parts)


def reply(root: ET.Element, code: int = 207, headers: dict[str, str] | None = None
          ) -> web.Response:
    """Return an HTTP response carrying an XML document."""
    return web.Response(status=code, body=serialize(root), headers=headers,
                        content_type="application/xml", charset="utf-8")
