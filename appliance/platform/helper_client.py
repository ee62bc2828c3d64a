"""The daemon's side of the privileged disk helper: one JSON line out, one back, per verb."""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

# How long each verb may take: a check of a large disk or a format can take long.
TIMEOUTS = {"mount": 180.0, "unmount": 700.0, "check": 4 * 3600 + 60, "format": 1900.0,
            "power_off": 900.0}


class HelperError(Exception):
    """The helper refused or failed; the message is the helper's own, meant for the user."""


class HelperClient:
    """Ask the privileged helper at `socket_path` to mount, check, format or power off disks."""

    def __init__(self, socket_path: str | Path) -> None:
        self.socket_path = Path(socket_path)

    async def mount(self, uuid: str) -> Path:
        """Mount the filesystem `uuid` and return where it is mounted."""
        result = await self._call("mount", uuid=uuid)
        return Path(str(result["path"]))

    async def unmount(self, uuid: str) -> None:
        """Flush and unmount the filesystem `uuid` (nothing happens if it was not mounted)."""
        await self._call("unmount", uuid=uuid)

    async def check(self, uuid: str) -> str:
        """Check the unmounted filesystem `uuid`; return a sentence starting with its state.

        The state is "clean", "repaired" or "damaged".
        """
        result = await self._call("check", uuid=uuid)
        return str(result["message"])

    async def format(self, device: str, label: str, expected_size: int) -> str:
        """Format `device` as ext4 named `label` and return the new filesystem's UUID.

        `expected_size` is the size in bytes the user confirmed; the helper refuses
        when the device is not that size. A whole disk gets one partition first.
        """
        result = await self._call("format", device=device, label=label,
                                  expected_size=expected_size)
        return str(result["uuid"])

    async def power_off(self, device: str) -> str:
        """Unmount and flush the disk holding `device`, power it off; return what to do next."""
        result = await self._call("power_off", device=device)
        return str(result["message"])

    async def _call(self, verb: str, **args: object) -> dict[str, object]:
        try:
            reader, writer = await asyncio.open_unix_connection(self.socket_path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise HelperError(
                f"the disk helper service is not running (nothing answers at "
                f"{self.socket_path}); start it with `sudo systemctl start "
                f"hearth-helper.socket`") from None
        except PermissionError:
            raise HelperError(
                f"not allowed to talk to the disk helper at {self.socket_path}: the "
                f"daemon's user must be in the socket's group (hearth)") from None
        try:
            writer.write(json.dumps({"verb": verb, "args": args}).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), TIMEOUTS[verb])
        except TimeoutError:
            raise HelperError(f"the disk helper did not answer {verb} within "
                              f"{TIMEOUTS[verb]:.0f} s; see `journalctl -u hearth-helper`"
                              ) from None
        except ConnectionError as exc:
            raise HelperError(f"the disk helper hung up during {verb} ({exc}); see "
                              f"`journalctl -u hearth-helper`") from None
        finally:
            writer.close()
        return _result(verb, line)


def _result(verb: str, line: bytes) -> dict[str, object]:
    if not line:
        raise HelperError(f"the disk helper closed the connection without answering {verb}; "
                          f"see `journalctl -u hearth-helper`")
    try:
        answer = json.loads(line)
    except json.JSONDecodeError:
        raise HelperError(f"the disk helper answered {verb} with something that is not "
                          f"JSON: {line[:200]!r}") from None
    if not isinstance(answer, dict):
        raise HelperError(f"the disk helper answered {verb} with {answer!r}")
    if not answer.get("ok"):
        raise HelperError(str(answer.get("error") or f"the disk helper refused {verb}"))
    result = answer.get("result")
    return result if isinstance(result, dict) else {}
