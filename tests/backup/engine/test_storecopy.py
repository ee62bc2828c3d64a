"""Copies of a collection taken while a store writes and compacts it are consistent."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from appliance.backup.engine.storecopy import collection_documents
from appliance.store import Store
from tests.backup.conftest import DOCTYPE


def test_copies_taken_during_writes_and_compactions_are_states_the_store_was_in(
        tmp_path: Path) -> None:
    store = Store.open_sync(tmp_path / "store", compact_at=1024)  # compacts every ~4 writes
    notes = store.collection_sync(DOCTYPE).table
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            notes.upsert({"_id": "counter", "n": n, "pad": "x" * 200},
                         cond=lambda d: d.doc_id == "counter")
    writer = threading.Thread(target=write)
    writer.start()
    seen, copies, deadline = 0, 0, time.monotonic() + 2
    try:
        while time.monotonic() < deadline:
            docs = collection_documents(tmp_path / "store" / DOCTYPE)
            assert docs is not None
            counter = docs[0]["n"] if docs else 0
            assert counter >= seen, f"copy {copies} went back from {seen} to {counter}"
            seen, copies = counter, copies + 1
    finally:
        stop.set()
        writer.join()
        store.close_sync()
    assert copies > 100 and seen > 50
