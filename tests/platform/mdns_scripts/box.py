"""A Hearth box: a ZeroconfAnnouncer driven by the test (start, refresh, stop, warnings)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from appliance.platform.mdns import ZeroconfAnnouncer
from tests.platform.mdns_scripts import serve


class Box:
    """One announcer and the warnings it logged."""

    def __init__(self) -> None:
        self.announcer: ZeroconfAnnouncer | None = None
        self.warnings: list[str] = []
        box = self

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                box.warnings.append(record.getMessage())

        logging.getLogger("appliance.platform.mdns").addHandler(Keep(logging.WARNING))

    def state(self) -> dict[str, Any]:
        assert self.announcer is not None
        return {"hostname": self.announcer.hostname, "conflict": self.announcer.conflict,
                "warnings": self.warnings}

    async def start(self, name: str, http_port: int, https_port: int | None,
                    version: str) -> dict[str, Any]:
        self.announcer = ZeroconfAnnouncer(name, http_port=http_port, https_port=https_port,
                                           version=version)
        await self.announcer.start()
        return self.state()

    async def refresh(self) -> dict[str, Any]:
        assert self.announcer is not None
        await self.announcer.refresh()
        return self.state()

    async def stop(self) -> dict[str, Any]:
        assert self.announcer is not None
        await self.announcer.stop()
        return self.state()


async def main() -> None:
    box = Box()
    await serve({"start": box.start, "refresh": box.refresh, "stop": box.stop})
    if box.announcer is not None:
        await box.announcer.stop()


if __name__ == "__main__":
    asyncio.run(main())
