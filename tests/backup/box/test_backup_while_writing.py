"""A backup while the owner keeps writing: every write survives, the backup is a moment's copy."""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from appliance.backup.engine.restorer import Restorer
from appliance.backup.engine.storecopy import collection_documents
from tests.backup.box.conftest import BASE, Box, finished, post, set_up
from tests.conftest import page_csrf

BOOKMARKS = "/apps/bookmarks/"
DOCTYPE = "io.hearth.bookmarks"


async def add_bookmark(box: Box, csrf: str, n: int) -> float:
    """Add bookmark n through the page's form; return how long the answer took."""
    started = time.monotonic()
    resp = await box.client.post(BOOKMARKS + "add", data={
        "_csrf": csrf, "url": f"https://example.org/{n}", "title": f"mark {n:05d}"},
        allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return time.monotonic() - started


async def test_writes_during_a_backup_all_survive_and_the_backup_is_consistent(
        box: Box, tmp_path: Path) -> None:
    await set_up(box)
    films = box.core.data_dir / "files" / "Films"
    films.mkdir()
    for n in range(3):  # enough for the backup to last while the owner writes
        (films / f"film-{n}.mkv").write_bytes(os.urandom(8 << 20))
    csrf = await page_csrf(box.client, BOOKMARKS)
    for n in range(20):
        await add_bookmark(box, csrf, n)

    await post(box.client, BASE, BASE + "run")
    written, waits = 20, []
    while box.backups.busy():
        waits.append(await add_bookmark(box, csrf, written))
        written += 1
        await asyncio.sleep(0)
    status = await finished(box.client)
    assert status["state"] == "done", status
    during = written - 20
    assert during > 0, "the backup ended before any write: nothing was tested"

    # Every write reached the box, none was lost or refused while the backup read the store.
    titles = sorted(d["title"] for d in box.core.collections[DOCTYPE].find({}))
    assert titles == [f"mark {n:05d}" for n in range(written)]

    # The backup holds the store as it was at one moment: everything written before the
    # backup began, then the writes made during it up to some point, in order, each whole.
    repo = await box.backups.repository()
    snapshot = await asyncio.to_thread(repo.find_snapshot, None)
    target = tmp_path / "restored"
    await asyncio.to_thread(Restorer(repo, snapshot, target).run, [f"store/{DOCTYPE}"])
    saved = collection_documents(target / "store" / DOCTYPE)
    assert saved is not None
    numbers = sorted(int(d["title"].split()[1]) for d in saved)
    assert numbers == list(range(len(numbers))) and len(numbers) >= 20, numbers
    assert all(d["url"] == f"https://example.org/{int(d['title'].split()[1])}" for d in saved)
    print(f"{during} writes during the backup; slowest answer {max(waits) * 1000:.0f} ms, "
          f"median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms")
