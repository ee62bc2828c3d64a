"""The box answers only to its own names: no web page can reach it through a name of its own.

A page on another site whose name is made to resolve to the box (DNS rebinding) is
same-origin with itself, so the browser lets it read the box's answers; what betrays it
is the `Host` header, which still carries the page's name. Every request is checked
here, before the guard and any handler, against the names the box really has.
"""
from __future__ import annotations

import ipaddress
import socket

from aiohttp import hdrs, web

from appliance import keys
from appliance.i18n import N_
from appliance.web.guard import Handler
from appliance.web.shell import translator

FIXED_NAMES = frozenset({"localhost", "hearth.local"})


def host_name(header: str) -> str:
    """Return the name or address a Host header names, without its port, lower-case."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal: [::1]:8080
        return header[1:header.find("]")] if "]" in header else header
    name, sep, port = header.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        header = name
    return header.rstrip(".")


def _own_address(request: web.Request, name: str) -> bool:
    try:
        address = ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    if address.is_loopback:
        return True
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return False
    try:
        local = ipaddress.ip_address(str(sockname[0]).partition("%")[0])
    except ValueError:
        return False
    if isinstance(local, ipaddress.IPv6Address) and local.ipv4_mapped is not None:
        local = local.ipv4_mapped  # a dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d
    return address == local  # the address the client reached the box at


def own_names(request: web.Request) -> set[str]:
    """Return the names this box answers to: NAME.local (held and chosen), fixed, added."""
    names = set(FIXED_NAMES)
    names.update(request.config_dict[keys.SETTINGS].allowed_hosts)
    names.add(request.config_dict[keys.LAN].announcer.hostname.lower() + ".local")
    names.add(request.config_dict[keys.CORE].owner.name.lower() + ".local")
    names.add(socket.gethostname().lower())
    return names


def known_host(request: web.Request) -> bool:
    """Return whether the request names the box by one of its own names or addresses."""
    header = request.headers.get(hdrs.HOST)
    if header is None:
        return True  # HTTP/1.0 without Host: no browser sends that, so no page can either
    name = host_name(header)
    return _own_address(request, name) or name in own_names(request)


@web.middleware
async def own_hosts_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse, before anything else, a request whose Host is not one of the box's names."""
    if not known_host(request):
        _ = translator(request)
        return web.Response(status=421, text=_(N_(
            "This box does not answer to that name. Open it at NAME.local or at its address, "
            "or add the name to the allowed_hosts setting.")) + "\n")
    return await handler(request)
