"""Backup benchmark: Hearth's engine against restic and borg, on one data set, in one run.

    python bench/backup_bench.py [--gib 1.0] [--rounds 3] [--dir DIR] [--warm]
        [--tools hearth,restic,borg]

Makes a data set of about --gib GiB in DIR (default: a temporary folder on the
real disk, never tmpfs): 20,000 small files per GiB (1–64 KiB, 60 % text-like,
40 % random like small photos) and large random "media" files for the rest.
Then, for each tool in turn, each command pinned to one core (taskset -c 0) and
measured by /usr/bin/time (wall time, peak resident memory):

1. first backup (throughput: data size / time);
2. second backup after 1 % of the data changed (200 small files per GiB rewritten,
   8 MiB overwritten in the middle of a large file) — every tool sees the same change;
3. restore of the latest snapshot into an empty folder (throughput).

All of this is repeated --rounds times, the tools taking turns within each round
(the machine may be shared): the table gives the median and the best of the rounds.
The page cache is dropped before each measured command (as root; --warm keeps
it), so every tool reads from the disk. Peers, from Debian: restic (repository
format 2, compression auto, AES-256 + Poly1305), borg 1.2 (repokey: AES-CTR +
HMAC-SHA-256, lz4). Hearth: `hearth backup` through appliance.cli, its
cipher chosen from this CPU. Everything is removed at the end.
Needs: apt-get install restic borgbackup time.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL_PER_GIB = 20_000
BIG = 128 << 20
PASSWORD = "bench-password-not-secret"


@dataclass
class Measure:
    """One command: seconds, peak RSS in MiB."""

    seconds: float
    rss_mib: float


def make_data(root: Path, gib: float, rng: random.Random) -> int:
    """Write the data set; return its size in bytes."""
    words = [rng.randbytes(rng.randint(2, 6)).hex() for _ in range(5000)]
    pool = " ".join(rng.choices(words, k=3_000_000)).encode()
    total, small = 0, int(SMALL_PER_GIB * gib)
    for n in range(small):
        folder = root / "files" / f"folder-{n // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        size = min(64 << 10, int(rng.lognormvariate(9, 1)) + 1024)
        if n % 5 < 3:
            start = rng.randrange(len(pool) - size)
            content = pool[start:start + size]
            (folder / f"note-{n:05d}.txt").write_bytes(content)
        else:
            content = rng.randbytes(size)
            (folder / f"photo-{n:05d}.jpg").write_bytes(content)
        total += size
    media = root / "files" / "Videos"
    media.mkdir(parents=True)
    n, target = 0, int(gib * (1 << 30))
    while total < target:
        size = min(BIG, target - total)
        with open(media / f"video-{n:02d}.mp4", "wb") as fh:
            for _ in range(0, size, 1 << 24):
                fh.write(rng.randbytes(min(1 << 24, size - fh.tell())))
        total, n = total + size, n + 1
    return total


def change_one_percent(root: Path, gib: float, rng: random.Random) -> None:
    """Rewrite 1 % of the small files and 8 MiB in the middle of one large file."""
    smalls = sorted((root / "files").glob("folder-*/*"))
    for path in rng.sample(smalls, int(len(smalls) * 0.01)):
        path.write_bytes(rng.randbytes(path.stat().st_size))
    video = sorted((root / "files" / "Videos").iterdir())[0]
    with open(video, "r+b") as fh:
        fh.seek(video.stat().st_size // 2)
        fh.write(rng.randbytes(8 << 20))


class Tools:
    """The commands of each tool, run in a scratch folder."""

    def __init__(self, work: Path, data: Path, warm: bool) -> None:
        self.work, self.data, self.warm = work, data, warm
        self.key_file = work / "hearth.key"
        self.env = dict(os.environ, RESTIC_PASSWORD=PASSWORD, BORG_PASSPHRASE=PASSWORD,
                        BORG_BASE_DIR=str(work / "borg-home"),
                        RESTIC_CACHE_DIR=str(work / "restic-cache"), PYTHONPATH=str(ROOT))

    def repo(self, tool: str) -> Path:
        return self.work / f"{tool}-repo"

    def run(self, argv: Sequence[str | Path], *, cwd: Path | None = None,
            measure: bool = False) -> Measure:
        """Run a command (pinned to core 0 when measured); return its time and peak RSS."""
        stats = self.work / "time.txt"
        prefix: list[str | Path] = []
        if measure:
            if not self.warm:
                subprocess.run(["sync"], check=True)
                Path("/proc/sys/vm/drop_caches").write_text("3\n")
            prefix = ["/usr/bin/time", "-o", stats, "-f", "%e %M", "taskset", "-c", "0"]
        done = subprocess.run([*map(str, prefix), *map(str, argv)], cwd=cwd or self.work,
                              env=self.env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{argv[0]} failed:\n{done.stdout}\n{done.stderr}")
        if not measure:
            return Measure(0, 0)
        seconds, rss = stats.read_text().split()[-2:]
        return Measure(float(seconds), int(rss) / 1024)

    def commands(self, tool: str, step: str, target: Path) -> list[str | Path]:
        repo, data = self.repo(tool), self.data
        hearth = [sys.executable, "-m", "appliance.cli", "backup"]
        table: dict[str, dict[str, list[str | Path]]] = {
            "hearth": {
                "init": [*hearth, "init", "--repo", repo],
                "backup": [*hearth, "run", "--repo", repo, "--data", data,
                           "--key-file", self.key_file],
                "restore": [*hearth, "restore", "--repo", repo, "--target", target,
                            "--key-file", self.key_file]},
            "restic": {
                "init": ["restic", "init", "--repo", repo, "--repository-version", "2"],
                "backup": ["restic", "backup", "--repo", repo, "--quiet", data],
                "restore": ["restic", "restore", "latest", "--repo", repo, "--target",
                            target]},
            "borg": {
                "init": ["borg", "init", "--encryption", "repokey", repo],
                "backup": ["borg", "create", f"{repo}::{{now:%H%M%S%f}}", data],
                "restore": ["borg", "extract", f"{repo}::{{last}}"]},
        }
        return table[tool][step]

    def init(self, tool: str) -> None:
        if tool == "hearth":
            done = subprocess.run(self.commands(tool, "init", self.work), env=self.env,
                                  cwd=ROOT, capture_output=True, text=True, check=True)
            self.key_file.write_text(done.stdout)
        else:
            self.run(self.commands(tool, "init", self.work))

    def last_archive(self) -> str:
        out = subprocess.run(["borg", "list", "--short", "--last", "1", self.repo("borg")],
                             env=self.env, capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def restore(self, tool: str) -> Measure:
        target = self.work / f"{tool}-restored"
        target.mkdir()
        argv = self.commands(tool, "restore", target)
        if tool == "borg":
            argv = ["borg", "extract", f"{self.repo('borg')}::{self.last_archive()}"]
        measured = self.run(argv, cwd=target if tool == "borg" else ROOT, measure=True)
        shutil.rmtree(target)
        return measured


def size_of(path: Path) -> int:
    """Return the bytes of the files under path."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_round(runner: Tools, tools: list[str], data: Path, gib: float,
              rng: random.Random) -> dict[str, dict[str, Measure]]:
    """Measure every tool in turn on fresh repositories; return its figures."""
    results: dict[str, dict[str, Measure]] = {tool: {} for tool in tools}
    for tool in tools:
        shutil.rmtree(runner.repo(tool), ignore_errors=True)
        runner.init(tool)
        results[tool]["first"] = runner.run(runner.commands(tool, "backup", runner.work),
                                            cwd=ROOT, measure=True)
        print(f"{tool}: first backup {results[tool]['first']}", flush=True)
    change_one_percent(data, gib, rng)
    for tool in tools:
        results[tool]["second"] = runner.run(runner.commands(tool, "backup", runner.work),
                                             cwd=ROOT, measure=True)
        results[tool]["restore"] = runner.restore(tool)
        print(f"{tool}: second {results[tool]['second']}, restore "
              f"{results[tool]['restore']}", flush=True)
    return results


def main() -> None:
    """Run the benchmark (tools in turns, --rounds times) and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="Size of the data set.")
    parser.add_argument("--dir", type=Path, default=None, help="Scratch folder (a real disk).")
    parser.add_argument("--warm", action="store_true", help="Keep the page cache.")
    parser.add_argument("--tools", default="hearth,restic,borg", help="Tools to compare.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of every tool in turn.")
    args = parser.parse_args()
    tools = args.tools.split(",")
    warm = args.warm or not os.access("/proc/sys/vm/drop_caches", os.W_OK)
    work = Path(tempfile.mkdtemp(prefix="backup-bench-", dir=args.dir))
    try:
        rng = random.Random(42)
        data = work / "data"
        started = time.monotonic()
        total = make_data(data, args.gib, rng)
        print(f"data set: {total / 1e6:.0f} MB, {sum(1 for _ in data.rglob('*'))} entries, "
              f"made in {time.monotonic() - started:.0f} s; page cache "
              f"{'kept' if warm else 'dropped before each command'}", flush=True)
        runner = Tools(work, data, warm)
        rounds = []
        for n in range(args.rounds):
            print(f"round {n + 1} of {args.rounds}", flush=True)
            rounds.append(one_round(runner, tools, data, args.gib, rng))
        sizes = {tool: size_of(runner.repo(tool)) for tool in tools}
        report(rounds, sizes, total)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rounds: list[dict[str, dict[str, Measure]]], sizes: dict[str, int],
           total: int) -> None:
    """Print the median (and best) of the rounds, with Hearth's ratio to each peer."""
    tools = list(rounds[0])
    rows = [
        ("first backup, MB/s", lambda m: total / 1e6 / m["first"].seconds, True),
        ("first backup, peak RSS MiB", lambda m: m["first"].rss_mib, False),
        ("second backup (1 % changed), s", lambda m: m["second"].seconds, False),
        ("second backup, peak RSS MiB", lambda m: m["second"].rss_mib, False),
        ("restore, MB/s", lambda m: total / 1e6 / m["restore"].seconds, True),
        ("restore, peak RSS MiB", lambda m: m["restore"].rss_mib, False),
    ]
    peers = [t for t in tools if t != "hearth"]
    print(f"\nmedian of {len(rounds)} rounds (best in brackets)")
    print("\n| measure | " + " | ".join(tools) + "".join(f" | hearth/{p}" for p in peers) + " |")
    print("| --- |" + " ---: |" * (len(tools) + len(peers)))
    for label, get, higher_better in rows:
        runs = {t: sorted(get(r[t]) for r in rounds) for t in tools}
        median = {t: statistics.median(v) for t, v in runs.items()}
        best = {t: v[-1] if higher_better else v[0] for t, v in runs.items()}
        ratios = "".join(f" | {median['hearth'] / median[p]:.2f}×" for p in peers
                         if "hearth" in median)
        print(f"| {label} | " + " | ".join(f"{median[t]:,.1f} ({best[t]:,.1f})" for t in tools)
              + ratios + " |")
    print("| repository size, MB | " + " | ".join(f"{sizes[t] / 1e6:,.0f}" for t in tools) +
          "".join(f" | {sizes['hearth'] / sizes[p]:.2f}×" for p in peers if "hearth" in sizes)
          + " |")


if __name__ == "__main__":
    main()
