"""The helper's socket: JSON request and answer lines, from callers checked with SO_PEERCRED."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from collections.abc import Collection

from appliance.helper.errors import Refused
from appliance.helper.verbs import Answer, Verbs

logger = logging.getLogger(__name__)

MAX_LINE = 4096
IDLE_SECONDS = 60  # a caller that sends nothing for this long is dropped


def peer_uid(sock: socket.socket) -> int:
    """Return the uid of the process at the other end of a unix socket, as the kernel saw it."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def encode(answer: Answer) -> bytes:
    """Return one answer as a JSON line."""
    return json.dumps(answer, ensure_ascii=False).encode() + b"\n"


class HelperServer:
    """Serve the verbs to root and to the daemon's uid, one JSON line each way per request."""

    def __init__(self, verbs: Verbs, *, allowed_uids: Collection[int]) -> None:
        self.verbs = verbs
        self.allowed_uids = frozenset(allowed_uids)

    async def serve(self, sock: socket.socket) -> asyncio.Server:
        """Start answering on a listening unix socket; return the running server."""
        return await asyncio.start_unix_server(self._connection, sock=sock, limit=MAX_LINE)

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        uid = peer_uid(writer.get_extra_info("socket"))
        try:
            while line := await asyncio.wait_for(reader.readline(), IDLE_SECONDS):
                if uid not in self.allowed_uids:  # read first: the caller gets our reason
                    logger.warning("refused a caller with uid %d: only uids %s may use the "
                                   "helper", uid, ", ".join(map(str, sorted(self.allowed_uids))))
                    writer.write(encode({"ok": False, "error": (
                        f"uid {uid} may not use the Hearth disk helper; only root and the "
                        f"Hearth daemon's user may")}))
                    await writer.drain()
                    return
                writer.write(encode(await self._answer(line, uid)))
                await writer.drain()
        except (TimeoutError, ValueError, ConnectionError):
            pass  # an idle, overlong or vanished caller: nothing more to say
        finally:
            writer.close()

    async def _answer(self, line: bytes, uid: int) -> Answer:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("args", {}), dict):
                raise Refused('a request is one JSON object: {"verb": …, "args": {…}}')
            verb, arguments = request.get("verb"), request.get("args", {})
            logger.info("uid %d asks: %s %s", uid, verb, json.dumps(arguments))
            result = await self.verbs.answer(verb, arguments)
        except Refused as refusal:
            logger.warning("refused: %s", refusal)
            return {"ok": False, "error": str(refusal)}
        except json.JSONDecodeError:
            return {"ok": False, "error": "a request is one line of JSON"}
        except Exception as exc:
            logger.exception("the helper failed on %r", line[:200])
            return {"ok": False, "error": f"the disk helper failed ({exc}); see "
                                          f"`journalctl -u hearth-helper` for details"}
        return {"ok": True, "result": result}
