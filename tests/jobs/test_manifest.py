"""The manifest contract: what a connector declares is checked before anything runs."""
from __future__ import annotations

import pytest

from appliance.jobs.manifest import Dedup, Field, FieldError, Manifest, ManifestError
from appliance.jobs.registry import discover, find


def test_a_manifest_refuses_what_cannot_work() -> None:
    with pytest.raises(ManifestError, match="slug"):
        Manifest(slug="Bad Slug", name="x", vendor="x", version="1")
    with pytest.raises(ManifestError, match="frequency"):
        Manifest(slug="ok", name="x", vendor="x", version="1", frequency="sometimes")
    with pytest.raises(ManifestError, match="time_window"):
        Manifest(slug="ok", name="x", vendor="x", version="1", time_window=(5, 2))
    with pytest.raises(ManifestError, match="same name"):
        Manifest(slug="ok", name="x", vendor="x", version="1",
                 fields=(Field("login", "Login"), Field("login", "Again")))
    with pytest.raises(ManifestError, match="doctype"):
        Manifest(slug="ok", name="x", vendor="x", version="1", doctypes={"Bills": Dedup(("a",))})
    with pytest.raises(ManifestError, match="pattern"):
        Field("code", "Code", pattern="([")
    with pytest.raises(ManifestError, match="choices"):
        Field("kind", "Kind", type="choice")


def test_fields_are_checked_in_words_the_owner_understands() -> None:
    manifest = Manifest(slug="ok", name="x", vendor="x", version="1", fields=(
        Field("login", "Login", type="email", required=True),
        Field("password", "Password", type="password", required=True),
        Field("branch", "Branch", pattern=r"\d{5}", default="00001"),
        Field("folder", "Folder", type="drive_path"),
    ))
    assert manifest.check({"login": " a@b.fr ", "password": " secret ", "folder": "Bank"}) == {
        "login": "a@b.fr", "password": " secret ", "branch": "00001", "folder": "/Bank"}
    with pytest.raises(FieldError) as missing:
        manifest.check({"login": "a@b.fr"})
    assert missing.value.field == "password" and str(missing.value) == "password is required."
    with pytest.raises(FieldError, match="expected form"):
        manifest.check({"login": "a@b.fr", "password": "p", "branch": "12"})
    with pytest.raises(FieldError, match="e-mail"):
        manifest.check({"login": "nobody", "password": "p"})
    with pytest.raises(FieldError, match="not a field"):
        manifest.check({"login": "a@b.fr", "password": "p", "extra": "x"})
    # A stored secret is kept when the form leaves it empty.
    assert manifest.check({"login": "a@b.fr"}, keep=frozenset({"password"})) == {
        "login": "a@b.fr", "branch": "00001", "folder": ""}


def test_builtin_and_third_party_connectors_are_found(toys: object) -> None:
    found = discover()
    assert found["bank-statements"].builtin and not found["toy-good"].builtin
    assert "toy-broken" not in found  # a broken entry point is left out, not fatal
    assert find("toy-good").manifest.name == "Toy-Good"
    described = found["bank-statements"].manifest.describe()
    assert described["doctypes"]["io.hearth.bank.operations"] == ["account", "vendor_ref"]
    assert described["fields"][0] == {"name": "path", "type": "drive_path", "required": True,
                                      "secret": False, "pattern": None}
