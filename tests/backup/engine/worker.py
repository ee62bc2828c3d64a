"""A backup run in its own process, with small packs, for tests that kill it or pull its disk.

    python -m tests.backup.engine.worker REPO DATA KEY PACK_SIZE

Prints "started" once the first chunk is stored, then the snapshot id; on a
BackupError, prints its message to stderr and exits 1, as `hearth backup run` does.
"""
from __future__ import annotations

import sys
from pathlib import Path

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.backuperrors import BackupError
from appliance.backup.engine.repository import Repository


def main(repo: str, data: str, key: str, pack_size: str) -> int:
    """Back data up into repo (small packs, an index file every 4); say when it starts."""
    def started(stats: object) -> None:
        print("started", flush=True)
    try:
        snapshot = Archiver(Repository.open(Path(repo), key), Sources(Path(data)),
                            progress=started, pack_size=int(pack_size), index_every=4).run()
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    print(snapshot.id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
