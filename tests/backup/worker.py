"""A backup run in its own process, with small packs, for tests that kill it.

    python -m tests.backup.worker REPO DATA KEY PACK_SIZE
"""
from __future__ import annotations

import sys
from pathlib import Path

from appliance.backup.archiver import Archiver, Sources
from appliance.backup.repository import Repository


def main(repo: str, data: str, key: str, pack_size: str) -> None:
    """Back data up into repo (small packs, an index file every 4); say when it starts."""
    def started(stats: object) -> None:
        print("started", flush=True)  # once: the first chunk is being stored
    snapshot = Archiver(Repository.open(Path(repo), key), Sources(Path(data)),
                        progress=started, pack_size=int(pack_size), index_every=4).run()
    print(snapshot.id, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
