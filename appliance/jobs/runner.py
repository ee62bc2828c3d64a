"""`python -m appliance.jobs.runner SLUG`: the subprocess a connector runs in.

It caps itself first (appliance/jobs/sandbox.py), keeps a private copy of
stdout for the JSON lines (anything the connector prints goes to stderr), reads
the `start` line from stdin, opens the sealed fields, and runs `fetch`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import traceback
from types import FrameType
from typing import Any

from appliance.jobs.connector import UNKNOWN_ERROR, ConnectorError
from appliance.jobs.context import Channel, RunContext
from appliance.jobs.landlock import refuse_ports
from appliance.jobs.outcome import CPU_LIMIT, MEMORY_LIMIT
from appliance.jobs.protocol import clip
from appliance.jobs.sandbox import apply_limits

# Kept aside before the connector runs, so that a MemoryError can still be reported.
_RESERVE: list[bytearray] = []


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m appliance.jobs.runner")
    parser.add_argument("slug")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--max-files", type=int, default=256)
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--refuse-port", type=int, action="append", default=[])
    return parser.parse_args(argv)


def _open_secrets(start: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any] | None, Any]:
    fields = dict(start.get("fields") or {})
    sealed = start.get("sealed") or {}
    session_token = start.get("session")
    key = bytes.fromhex(start["key"]) if start.get("key") else None
    owner = start["account"]
    if key is None:
        return fields, None, lambda data: None
    from appliance.keyring import seal, unseal  # cryptography only for a run with secrets
    for name, token in sealed.items():
        fields[name] = unseal(key, owner, token).decode()
    session = json.loads(unseal(key, owner, session_token)) if session_token else None
    return fields, session, lambda data: seal(key, owner, data)


def peak_rss_mib() -> float | None:
    """Return this process's peak resident memory in MiB (VmHWM), if /proc says."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one connector for the account described on stdin; report on stdout."""
    args = _arguments(sys.argv[1:] if argv is None else argv)
    channel = Channel(os.dup(1), sys.stdin.buffer)
    os.dup2(2, 1)  # a stray print() must not corrupt the messages

    def on_cpu_limit(signum: int, frame: FrameType | None) -> None:
        channel.send({"type": "error", "code": CPU_LIMIT,
                      "message": f"the connector used more than {args.cpu_seconds} s of "
                                 f"processor time and was stopped"})
        os._exit(3)

    signal.signal(signal.SIGXCPU, on_cpu_limit)
    niced = apply_limits(args.memory_mb, args.cpu_seconds, args.max_files, args.processes)
    network = {"network": refuse_ports(args.refuse_port)} if args.refuse_port else {}
    _RESERVE.append(bytearray(1 << 20))
    channel.send({"type": "hello", "niced": niced, "pid": os.getpid(), **network})
    try:
        line = sys.stdin.buffer.readline()
        start = json.loads(line)
        # after the limits apply: what the registry loads counts against the run, not before it
        from appliance.jobs.registry import find
        entry = find(args.slug)
        fields, session, sealer = _open_secrets(start)
        ctx = RunContext(entry.manifest, channel, start, fields, session, sealer)
        asyncio.run(entry.load()().fetch(ctx))
    except ConnectorError as exc:
        channel.send({"type": "error", "code": exc.code, "message": clip(exc.message),
                      "peak_mib": peak_rss_mib()})
        return 0
    except MemoryError:
        _RESERVE.clear()
        channel.send({"type": "error", "code": MEMORY_LIMIT,
                      "message": f"the connector needed more than its {args.memory_mb} MiB "
                                 f"of memory and was stopped"})
        return 0
    except Exception as exc:
        traceback.print_exc()
        channel.send({"type": "error", "code": UNKNOWN_ERROR,
                      "message": clip(f"the connector failed: {type(exc).__name__}: {exc}")})
        return 0
    channel.send({"type": "done", "peak_mib": peak_rss_mib()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
