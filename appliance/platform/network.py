"""The box on its network: which addresses neighbours can reach, and its host name."""
from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
from collections.abc import Iterator

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def host_label(name: str) -> str:
    """Return `name` as a host label for <label>.local, or raise ValueError saying what to use."""
    label = name.strip().lower()
    if not _LABEL.fullmatch(label):
        raise ValueError(f"{name!r} can't be the box's network name: use 1 to 63 letters, "
                         "digits and hyphens, not starting or ending with a hyphen "
                         "(for example 'hearth')")
    return label


def address_order(address: str) -> tuple[int, int]:
    """Sort key putting IPv4 before IPv6, then in numeric order."""
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


# rtnetlink, from <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_addr.h>, <net/if.h>
_RTM_GETLINK, _RTM_GETADDR = 18, 22
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_IFA_ADDRESS, _IFA_LOCAL, _IFA_FLAGS = 1, 2, 8
_IFF_WANTED = 0x1 | 0x40 | 0x1000  # up, running (has a carrier), multicast
_IFF_UNWANTED = 0x8 | 0x10  # loopback, point-to-point
# temporary (privacy, rotating), dadfailed, deprecated, tentative
_IFA_F_UNUSABLE = 0x01 | 0x08 | 0x20 | 0x40


def local_addresses() -> list[str]:
    """Return the box's addresses that other devices on the network can reach, IPv4 first.

    They are read from the kernel over rtnetlink, with no package or command needed:
    every address of an interface that is up, has a carrier and does multicast, except
    loopback and point-to-point links (VPN tunnels such as WireGuard or Tailscale,
    which no neighbour can reach), IPv6 link-local (an AAAA record names no interface,
    and zeroconf sends every record on every link), and IPv6 addresses that are
    tentative, failed duplicate detection, deprecated or temporary. Blocking: call it
    off the event loop.
    """
    usable = {index for index, flags in _links()
              if flags & _IFF_WANTED == _IFF_WANTED and not flags & _IFF_UNWANTED}
    found: set[str] = set()
    for body in _netlink_dump(_RTM_GETADDR, struct.pack("=BBBBI", socket.AF_UNSPEC, 0, 0, 0, 0)):
        family, _, flags, _, index = struct.unpack_from("=BBBBI", body)
        attributes = _attributes(body, 8)
        if _IFA_FLAGS in attributes:
            (flags,) = struct.unpack("=I", attributes[_IFA_FLAGS][:4])
        raw = attributes.get(_IFA_LOCAL, attributes.get(_IFA_ADDRESS))
        if index not in usable or flags & _IFA_F_UNUSABLE or raw is None:
            continue
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(raw)
        if address.is_loopback or (address.version == 6 and address.is_link_local):
            continue
        found.add(str(address))
    return sorted(found, key=address_order)


def _links() -> Iterator[tuple[int, int]]:
    """Yield (index, flags) for every network interface."""
    for body in _netlink_dump(_RTM_GETLINK, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)):
        _, _, index, flags, _ = struct.unpack_from("=BxHiII", body)
        yield index, flags


def _netlink_dump(kind: int, request: bytes) -> Iterator[bytes]:
    """Yield the body of every message the kernel answers to a route-netlink dump request."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       socket.NETLINK_ROUTE) as sock:
        header = struct.pack("=IHHII", 16 + len(request), kind, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0)
        sock.sendto(header + request, (0, 0))
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, message = struct.unpack_from("=IH", data, offset)
                if message == _NLMSG_DONE:
                    return
                if message == _NLMSG_ERROR:
                    (error,) = struct.unpack_from("=i", data, offset + 16)
                    raise OSError(-error, f"netlink: {os.strerror(-error)}")
                yield data[offset + 16:offset + length]
                offset += (length + 3) & ~3


def _attributes(body: bytes, offset: int) -> dict[int, bytes]:
    """Return a netlink message's attributes (type to value) from `offset` on."""
    found: dict[int, bytes] = {}
    while offset + 4 <= len(body):
        length, kind = struct.unpack_from("=HH", body, offset)
        if length < 4:
            break
        found[kind] = body[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return found
