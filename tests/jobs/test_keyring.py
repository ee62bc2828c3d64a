"""The keyring: a master key on the system side, and secrets sealed per account."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from appliance.keyring import Keyring, KeyringError, derive_key, seal, seal_in_child, unseal

ROOT = Path(__file__).resolve().parents[2]


def test_the_master_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "system")
    key = ring.master_key()
    mode = stat.S_IMODE(os.stat(ring.path).st_mode)
    assert len(key) == 32 and mode == 0o600
    assert Keyring(tmp_path / "system").master_key() == key
    os.chmod(ring.path, 0o644)
    assert ring.master_key() == key and stat.S_IMODE(os.stat(ring.path).st_mode) == 0o600
    ring.path.write_text("hearth-keyring/1 not-base64!\n")
    with pytest.raises(KeyringError, match="damaged"):
        ring.master_key()


def test_each_account_has_its_own_key_and_seals_bind_to_it(tmp_path: Path) -> None:
    master = Keyring(tmp_path).master_key()
    expected = HKDFExpand(hashes.SHA256(), 32, b"hearth/seal/v1\0acc-1").derive(master)
    assert derive_key(master, "acc-1") == expected  # standard HKDF-Expand, no cryptography needed
    key = derive_key(master, "acc-1")
    token = seal(key, "acc-1", b"hunter2")
    assert token.startswith("v1.") and "hunter2" not in token
    assert seal(key, "acc-1", b"hunter2") != token  # a fresh nonce each time
    assert unseal(key, "acc-1", token) == b"hunter2"
    with pytest.raises(KeyringError, match="another account"):
        unseal(key, "acc-2", token)  # the id is the associated data
    with pytest.raises(KeyringError):
        unseal(derive_key(master, "acc-2"), "acc-2", token)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(KeyringError):
        unseal(key, "acc-1", tampered)


async def test_the_daemon_seals_through_a_child(tmp_path: Path) -> None:
    key = derive_key(Keyring(tmp_path).master_key(), "acc-9")
    sealed = await seal_in_child(key, "acc-9", {"password": "pässword", "otp": "123"})
    assert unseal(key, "acc-9", sealed["password"]).decode() == "pässword"
    assert unseal(key, "acc-9", sealed["otp"]) == b"123"


def test_the_daemon_side_never_loads_cryptography() -> None:
    code = ("import sys; import appliance.running, appliance.jobs.scheduler, "
            "appliance.cli.connectors, appliance.keyring, services.connectors.views, "
            "services.connectors.bank_statements; from appliance.jobs.registry import discover; "
            "discover(); "
            "heavy = [m for m in ('cryptography', 'ofxtools', 'pycamt', 'lxml', 'quiffen', "
            "'pydantic') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
