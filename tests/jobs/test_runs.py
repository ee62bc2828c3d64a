"""Connector runs in real subprocesses: what they may do, and how misbehaving ones end."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.core import Core
from appliance.jobs.launch import Order, execute
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import find
from appliance.jobs.run import KEEP
from appliance.keyring import seal, unseal

pytestmark = pytest.mark.usefixtures("toys")
KEY = os.urandom(32)
NOTES = "io.hearth.toy.notes"


async def run(core: Core, slug: str, *, login: str = "xxx", session: str | None = None,
              ask: Any = None) -> tuple[Outcome, Any]:
    """Run a toy connector for account acc-1, its password sealed as the box keeps it."""
    order = Order(find(slug).manifest, "acc-1", "Toy", {"login": login}, KEY,
                  sealed={"password": seal(KEY, "acc-1", b"hunter2")}, session=session,
                  ask=ask)
    return await execute(core, order)


def gone(pid: int) -> bool:
    """Tell whether a process is dead (a zombie waiting for its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def messages(out: Outcome) -> str:
    return "\n".join(line["message"] for line in out.log)


async def test_a_good_run_saves_records_a_file_and_a_sealed_session(core: Core) -> None:
    out, session = await run(core, "toy-good")
    assert out.summary() == {"status": "ok", "error": None, "message": "",
                             "saved": {NOTES: 3}, "updated": {}, "duplicates": 0,
                             "rejected": 0, "files": 1}
    entry = await core.files.stat("/Connectors/Toy/2024/report.pdf")
    assert entry.size == 20 * 5000 and entry.sha256
    notes = core.collections.get(NOTES) or await core.store.collection(NOTES)
    docs = sorted(notes.all(), key=lambda d: d["number"])
    assert [d["text"] for d in docs] == ["note 0", "note 1", "note 2"]
    assert docs[0]["file"] == entry.id  # {"$file": key} became the Drive file's id
    assert docs[0]["source"] == {"connector": "toy-good", "account": "acc-1"}
    assert "logged in as xxx" in messages(out)
    assert json.loads(unseal(KEY, "acc-1", session)) == {"cookie": "session-cookie-ABC",
                                                         "seen": 1}
    # The same run again adds nothing, and the connector gets its session back.
    again, session2 = await run(core, "toy-good", session=session)
    assert again.saved == {} and again.files == 0 and again.duplicates == 4
    assert json.loads(unseal(KEY, "acc-1", session2))["seen"] == 2
    assert len(notes.all()) == 3


async def test_a_connector_sees_only_its_fields_and_cannot_write(core: Core) -> None:
    out, session = await run(core, "toy-spy")
    assert out.status == "ok" and session is KEEP
    said = messages(out)
    env = said.split("env=")[1].splitlines()[0]
    assert "hunter2" not in said.replace("fields=", "") and "HEARTH" not in env
    assert "password" in said.split("fields=")[1]  # it got the field, unsealed
    argv = said.split("argv=")[1].splitlines()[0]
    assert "hunter2" not in argv and "toy-spy" in argv
    limits = said.split("as=")[1].splitlines()[0]
    assert limits.startswith(f"({256 << 20}, {256 << 20}) cpu=(21, 26) fsize=(0, 0)")
    group = said.split("pgid=")[1].splitlines()[0]
    assert group.split(" ")[0] == group.split("pid=")[1]  # its own process group
    assert "write=refused" in said  # RLIMIT_FSIZE=0: it writes no file


async def test_a_hanging_connector_is_killed_with_what_it_started(core: Core) -> None:
    started = time.monotonic()
    out, _ = await run(core, "toy-hang")
    assert time.monotonic() - started < 8
    assert out.status == "failed" and out.error == "TIMEOUT"
    assert "longer than 2 s" in out.message
    runner, helper = (int(p) for p in messages(out).split("pids ")[1].split()[:2])
    assert gone(runner) and gone(helper)
    assert out.saved == {NOTES: 1}  # a complete record sent before the hang is kept


async def test_a_flooding_connector_is_stopped(core: Core) -> None:
    out, _ = await run(core, "toy-flood")
    assert (out.status, out.error) == ("failed", "FLOODED")
    assert "more than 10000 log lines" in out.message
    assert len(out.log) <= 400
    out, _ = await run(core, "toy-longline")
    assert (out.error, out.saved) == ("FLOODED", {})
    assert "longer than 256 KiB" in out.message


async def test_garbage_ends_the_run_with_a_clear_message(core: Core) -> None:
    out, _ = await run(core, "toy-garbage")
    assert (out.status, out.error) == ("failed", "PROTOCOL_ERROR")
    assert "not a JSON message" in out.message and "not json at all" in out.message
    assert out.saved == {NOTES: 1}


async def test_memory_and_processor_limits_end_a_run(core: Core) -> None:
    out, _ = await run(core, "toy-hog")
    assert (out.error, out.message) == (
        "MEMORY_LIMIT", "the connector needed more than its 200 MiB of memory and was stopped")
    out, _ = await run(core, "toy-spin")
    assert out.error == "CPU_LIMIT" and "1 s of processor time" in out.message


async def test_a_crash_is_reported_with_its_last_words(core: Core) -> None:
    out, _ = await run(core, "toy-crash")
    assert out.error == "CRASHED"
    assert "exited with status 9" in out.message and "about to die" in out.message


async def test_a_file_cut_short_is_never_saved(core: Core, split_settings: Any) -> None:
    out, _ = await run(core, "toy-halffile")
    assert out.status == "failed" and out.files == 0
    with pytest.raises(Exception):
        await core.files.stat("/Connectors/Toy/half.bin")
    tmp = Path(split_settings.data) / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


async def test_connector_errors_keep_their_code(core: Core) -> None:
    out, _ = await run(core, "toy-login")
    assert (out.error, out.message) == ("LOGIN_FAILED", "the vendor refused this password")
    out, _ = await run(core, "toy-down")
    assert out.error == "VENDOR_DOWN"
    # Nobody watches a scheduled run: a question ends it, asking the owner to run it.
    out, _ = await run(core, "toy-asks")
    assert out.error == "CHALLENGE_ASKED" and "Type the code sent by SMS" in out.message


async def test_questions_reach_whoever_watches_the_run(core: Core) -> None:
    asked: list[dict[str, Any]] = []

    async def ask(question: dict[str, Any]) -> str:
        asked.append(question)
        return "123456"
    out, _ = await run(core, "toy-asks", ask=ask)
    assert out.status == "ok" and out.saved == {NOTES: 1}
    assert asked == [{"id": "q1", "prompt": "Type the code sent by SMS", "kind": "code"}]
