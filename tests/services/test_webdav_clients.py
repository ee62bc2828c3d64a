"""Real WebDAV clients against the box on loopback: litmus, rclone and a davfs2 mount."""
from __future__ import annotations

import asyncio
import filecmp
import os
import random
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.settings import Settings
from tests.services.test_webdav import Box, running

LITMUS_SUITES = "basic copymove props locks"
_SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed"
                      r"\.\s+[\d.]+%(?:\n-> (\d+) warnings? (?:was|were) issued\.)?")


@pytest.fixture
async def box(settings: Settings) -> AsyncIterator[Box]:
    """A box serving WebDAV and a device allowed in."""
    async with running(settings) as opened:
        yield opened


async def run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 120) -> tuple[int, str]:
    """Run a client while the box keeps serving on this loop; return its code and output."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        cwd=cwd)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace")


@pytest.mark.skipif(shutil.which("litmus") is None, reason="litmus is not installed "
                    "(apt-get install litmus)")
async def test_litmus_passes_every_test_without_warnings(box: Box, tmp_path: Path) -> None:
    code, out = await run("litmus", box.url, box.user, box.password,
                          env={"TESTS": LITMUS_SUITES, "HOME": str(tmp_path)}, cwd=tmp_path)
    summaries = {m.group(1): m.groups()[1:] for m in _SUMMARY.finditer(out)}
    assert set(summaries) == set(LITMUS_SUITES.split()), out
    for suite, (run_, passed, failed, warnings) in summaries.items():
        assert failed == "0" and run_ == passed, f"{suite}:\n{out}"
        assert warnings is None, f"{suite} warned:\n{out}"
    assert code == 0, out


def _make_tree(root: Path) -> None:
    """Write hundreds of files: nested folders, Unicode names, empty files, a 100 MB file."""
    rnd = random.Random(20)
    names = ["café au lait", "中文", "emoji 😀🎉", "plain", "Ünïcödé ñ", "two  spaces",
             "a+b=c & d", "100% sure", "#hash", "[brackets] (1)"]
    for i, top in enumerate(names):
        for j in range(3):
            folder = root / top / f"sub {j} é" / ("deeper 中" if j == 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(10):
                size = 0 if k == 0 else rnd.choice((1, 100, 5000, 70_000))
                (folder / f"file {k} {names[(i + k) % len(names)]}.txt").write_bytes(
                    rnd.randbytes(size))
    (root / "big.bin").write_bytes(rnd.randbytes(100 * 1024 * 1024))
    (root / "empty folder" / "empty inside").mkdir(parents=True)


def _same_trees(left: Path, right: Path) -> None:
    def listing(root: Path) -> set[str]:
        return {str(p.relative_to(root)) + ("/" if p.is_dir() else "") for p in root.rglob("*")}

    assert listing(left) == listing(right)
    for path in left.rglob("*"):
        if path.is_file():
            assert filecmp.cmp(path, right / path.relative_to(left), shallow=False), path


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is not installed "
                    "(apt-get install rclone)")
async def test_rclone_sync_round_trip(box: Box, tmp_path: Path) -> None:
    src, back = tmp_path / "src", tmp_path / "back"
    await asyncio.to_thread(_make_tree, src)
    assert len([p for p in src.rglob("*") if p.is_file()]) == 301
    code, obscured = await run("rclone", "obscure", box.password)
    assert code == 0, obscured
    (tmp_path / "rclone.conf").write_text("")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
           "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
           "RCLONE_CONFIG_HEARTH_TYPE": "webdav", "RCLONE_CONFIG_HEARTH_URL": box.url,
           "RCLONE_CONFIG_HEARTH_VENDOR": "other", "RCLONE_CONFIG_HEARTH_USER": box.user,
           "RCLONE_CONFIG_HEARTH_PASS": obscured.strip()}
    sync = ("rclone", "sync", "--create-empty-src-dirs", "-v", "--retries", "1")
    code, out = await run(*sync, str(src), "hearth:Backup", env=env)
    assert code == 0 and "ERROR" not in out, out
    code, out = await run(*sync, "hearth:Backup", str(back), env=env)
    assert code == 0 and "ERROR" not in out, out
    await asyncio.to_thread(_same_trees, src, back)
    code, out = await run(*sync, str(src), "hearth:Backup", env=env)
    assert code == 0 and "Copied" not in out and "Deleted" not in out, out
    assert "There was nothing to transfer" in out, out


def _davfs_missing() -> str | None:
    if shutil.which("mount.davfs") is None:
        return "davfs2 is not installed (apt-get install davfs2)"
    if os.geteuid() != 0:
        return "mounting davfs2 needs root"
    filesystems = Path("/proc/filesystems").read_text()
    if not re.search(r"\b(fuse|coda)\n", filesystems) or not Path("/dev/fuse").exists():
        return "the kernel has neither fuse nor coda (or /dev/fuse is missing)"
    return None


@pytest.mark.skipif(_davfs_missing() is not None, reason=str(_davfs_missing()))
async def test_davfs2_mount(box: Box, tmp_path: Path) -> None:
    mnt, secrets, conf = tmp_path / "mnt", tmp_path / "secrets", tmp_path / "davfs2.conf"
    mnt.mkdir()
    secrets.write_text(f'{box.url} {box.user} "{box.password}"\n')
    secrets.chmod(0o600)
    # The daemon runs as the davfs2 user, who can't reach pytest's private folders.
    cache = Path(tempfile.mkdtemp(prefix="hearth-davfs2-"))
    cache.chmod(0o777)
    # buf_size 64: davfs2 1.7.1 and older read directories with too small a buffer for
    # Linux 6.16 and later (every ls fails with EINVAL); a bigger buffer avoids it.
    conf.write_text(f"secrets {secrets}\nuse_locks 1\nbuf_size 64\ncache_dir {cache}\n")
    await box.request("MKCOL", "Docs")
    await box.request("PUT", "Docs/hello.txt", body="hello from the box")
    code, out = await run("mount", "-t", "davfs", box.url, str(mnt), "-o", f"conf={conf}")
    assert code == 0, out
    try:
        def work() -> None:
            assert sorted(os.listdir(mnt / "Docs")) == ["hello.txt"]
            assert (mnt / "Docs" / "hello.txt").read_text() == "hello from the box"
            (mnt / "Docs" / "thé noir.txt").write_text("écrit par davfs2")
            assert (mnt / "Docs" / "thé noir.txt").read_text() == "écrit par davfs2"
            (mnt / "Nouveau 中").mkdir()
            os.rename(mnt / "Docs" / "thé noir.txt", mnt / "Nouveau 中" / "moved.txt")
            os.remove(mnt / "Docs" / "hello.txt")
            assert sorted(os.listdir(mnt / "Nouveau 中")) == ["moved.txt"]
        await asyncio.to_thread(work)
    finally:
        code, out = await run("umount", str(mnt))  # waits until davfs2 has sent everything
        if code != 0:
            await run("umount", "-l", str(mnt))
        shutil.rmtree(cache, ignore_errors=True)
    assert code == 0, out
    got = await box.request("GET", "Nouveau%20%E4%B8%AD/moved.txt")
    assert got.status == 200 and (await got.read()).decode() == "écrit par davfs2"
    assert (await box.request("GET", "Docs/hello.txt")).status == 404
    assert [e.path for e in await box.tree.trashed()] == ["/Docs/hello.txt"]
