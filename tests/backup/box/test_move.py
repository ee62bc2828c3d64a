"""Move my Hearth: a fresh box gets the old one's files, documents, settings and passphrase."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.backup.box import backupplan
from appliance.backup.box.where import instance_id
from appliance.platform.disks import FakeDisks
from tests.backup.box.conftest import BASE, chunks, finished, post, set_up, start_box
from tests.conftest import PASSPHRASE, csrf_of, onboard

MOVE = "/welcome/restore"


@pytest.mark.parametrize("embedded", [True, False], ids=["data-folder", "sd-and-usb"])
async def test_a_fresh_box_comes_up_as_the_old_one(tmp_path: Path, disks: FakeDisks,
                                                   embedded: bool) -> None:
    old = await start_box(tmp_path / "old", disks, embedded=embedded)
    try:
        await onboard(old.client, name="chezmoi", language="fr")
        key = await set_up(old)
        await old.core.files.mkdir("/Papiers")
        await old.core.files.write("/Papiers/bail.pdf", chunks(b"%PDF lease" * 5000))
        await old.core.collections["io.hearth.bookmarks"].create(
            {"url": "https://example.org", "title": "Exemple"})
        await post(old.client, BASE, BASE + "run")
        assert (await finished(old.client))["state"] == "done"
        old_instance = instance_id(old.core.data_dir)
        old_keyring = (old.settings.system / "keyring").read_bytes()
    finally:
        await old.client.close()

    new = await start_box(tmp_path / "new", disks, embedded=embedded)
    try:
        client = new.client
        welcome = await (await client.get("/welcome")).text()
        assert 'href="/welcome/restore"' in welcome
        page = await (await client.get(MOVE)).text()
        assert "SanDisk Ultra" in page
        typo = key[:-1] + ("0" if key[-1] != "0" else "1")
        wrong = await client.post(MOVE, data={"_csrf": csrf_of(page), "uuid": "B4CK-0001",
                                              "key": typo})
        assert wrong.status == 400 and "typo" in await wrong.text()
        assert not new.core.owner.onboarded
        resp = await client.post(MOVE, data={"_csrf": csrf_of(page), "uuid": "B4CK-0001",
                                             "key": key.lower()}, allow_redirects=False)
        assert resp.status == 303
        status = await finished(client, MOVE + "/status")
        assert status["state"] == "done" and status["percent"] == 100, status
        assert status["files_done"] > 0
        done = await (await client.get(MOVE)).text()  # in the old owner's language
        assert "Connectez-vous avec votre phrase de passe" in done and 'name="key"' not in done

        # The old passphrase signs in; the files, documents, name and keys are the old ones.
        login = await (await client.get("/login")).text()
        signed = await client.post("/login", data={"_csrf": csrf_of(login),
                                                   "passphrase": PASSPHRASE})
        assert signed.status == 200 and signed.url.path == "/"
        core = new.core
        assert core.owner.name == "chezmoi" and core.owner.language == "fr"
        assert (await core.files.locate("/Papiers/bail.pdf")).read_bytes() == \
            b"%PDF lease" * 5000
        marks = core.collections["io.hearth.bookmarks"].find({})
        assert [m["title"] for m in marks] == ["Exemple"]
        assert instance_id(core.data_dir) == old_instance
        assert (new.settings.system / "keyring").read_bytes() == old_keyring
        # …and it carries on backing up to the same disk without the key being typed.
        assert backupplan.load(new.settings.system).ready
        await post(client, BASE, BASE + "run")
        assert (await finished(client))["state"] == "done"
        assert len(await new.backups.snapshots()) >= 1
    finally:
        await new.client.close()


async def test_a_box_with_an_owner_is_never_overwritten(tmp_path: Path,
                                                        disks: FakeDisks) -> None:
    box = await start_box(tmp_path / "box", disks)
    try:
        await onboard(box.client)
        assert (await box.client.get(MOVE, allow_redirects=False)).status == 303
        csrf = csrf_of(await (await box.client.get("/")).text())
        resp = await box.client.post(MOVE, data={"_csrf": csrf, "uuid": "B4CK-0001",
                                                 "key": "x"}, allow_redirects=False)
        assert resp.status == 303 and not box.backups.busy()
    finally:
        await box.client.close()
