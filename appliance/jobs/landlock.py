"""Landlock, applied by the runner on itself: TCP connections to the box's own ports refused.

Landlock (Linux 6.7+, ABI 4) restricts TCP `connect()` by port, not by address:
every port is allowed but the ones given, so a connector still reaches the
internet while the box's own web ports are closed to it at every address. From
ABI 6 the run is also scoped: no abstract unix socket and no signal outside
its own Landlock domain. Older kernels lack it; `refuse_ports` then says so.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import struct
from collections.abc import Collection

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_ACCESS_NET_CONNECT_TCP = 2
_RULE_NET_PORT = 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
_PR_SET_NO_NEW_PRIVS = 38
LAST_PORT = 65535


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def abi_version() -> int:
    """Return the kernel's Landlock ABI version, 0 when it has none."""
    version = int(_libc().syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION))
    return max(version, 0)


def refuse_ports(ports: Collection[int]) -> str:
    """Refuse this process (and what it starts) TCP connections to `ports`; say what holds."""
    abi = abi_version()
    if abi < 4:
        return "no Landlock network rules on this kernel: the box's own ports stay reachable"
    libc = _libc()
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("=QQQ", 0, _ACCESS_NET_CONNECT_TCP, scoped)
    size = len(attr) if abi >= 6 else 16
    ruleset = int(libc.syscall(_CREATE_RULESET, ctypes.c_char_p(attr), size, 0))
    if ruleset < 0:
        return f"Landlock refused a ruleset (errno {ctypes.get_errno()}): ports stay reachable"
    refused = set(ports)
    rule = ctypes.create_string_buffer(16)
    for port in range(0, LAST_PORT + 1):
        if port not in refused:
            struct.pack_into("=QQ", rule, 0, _ACCESS_NET_CONNECT_TCP, port)
            libc.syscall(_ADD_RULE, ruleset, _RULE_NET_PORT, rule, 0)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
        return f"Landlock could not apply (errno {ctypes.get_errno()}): ports stay reachable"
    listed = ", ".join(map(str, sorted(refused)))
    return f"TCP ports {listed} refused by Landlock" + (
        ", abstract sockets and signals scoped" if scoped else "")
