"""Recovery keys, key wrapping, the AEAD choice and the sealed framing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appliance.backup.engine import recovery
from appliance.backup.engine.cipher import (AES_GCM, CHACHA, OVERHEAD, Cipher, choose_aead,
                                     cpu_has_aes)
from appliance.backup.engine.backuperrors import Unreadable, WrongKey
from appliance.backup.engine.repository import Repository

PI2 = """processor\t: 0
model name\t: ARMv7 Processor rev 5 (v7l)
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm
CPU part\t: 0xc07
"""
ARM64_CRYPTO = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\n"
X86 = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae sse4_2 aes avx2 sha_ni\n"


def test_recovery_keys_round_trip_as_typed() -> None:
    key = recovery.generate()
    shown = recovery.display(key)
    assert len(shown.split("-")) == 9 and all(len(g) == 4 for g in shown.split("-"))
    typed = shown.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert recovery.parse(typed) == key


def test_a_typo_is_caught_before_any_key_derivation() -> None:
    key = recovery.generate()
    typo = key[:5] + ("A" if key[5] != "A" else "B") + key[6:]
    with pytest.raises(WrongKey, match="typo"):
        recovery.parse(typo)
    with pytest.raises(WrongKey, match="36"):
        recovery.parse(key[:-1])
    with pytest.raises(WrongKey, match="'U'"):
        recovery.parse("U" + key[1:])


def test_the_aead_follows_the_cpu(tmp_path: Path) -> None:
    assert not cpu_has_aes(PI2)
    assert cpu_has_aes(ARM64_CRYPTO) and cpu_has_aes(X86)
    (tmp_path / "cpuinfo").write_text(PI2)
    assert choose_aead(tmp_path / "cpuinfo") == CHACHA
    (tmp_path / "cpuinfo").write_text(X86)
    assert choose_aead(tmp_path / "cpuinfo") == AES_GCM
    assert choose_aead(tmp_path / "missing") == CHACHA


@pytest.mark.parametrize("aead", [CHACHA, AES_GCM])
def test_sealed_objects_are_compressed_when_it_pays_and_tamper_evident(aead: str) -> None:
    cipher = Cipher(aead, bytes(32))
    text = b"the same words again and again " * 2000
    sealed = cipher.seal(text, b"ctx")
    assert len(sealed) < len(text) / 5
    assert cipher.open(sealed, b"ctx") == text
    noise = os.urandom(100_000)
    assert len(cipher.seal(noise, b"ctx")) == len(noise) + OVERHEAD  # stored as is
    assert cipher.open(cipher.seal(text, b"ctx", compress=False), b"ctx") == text
    flipped = bytearray(sealed)
    flipped[40] ^= 1
    with pytest.raises(Unreadable):
        cipher.open(bytes(flipped), b"ctx")
    with pytest.raises(Unreadable):
        cipher.open(sealed, b"another context")


def test_the_repository_opens_only_with_its_key(tmp_path: Path, key: str) -> None:
    Repository.init(tmp_path / "repo", key, CHACHA)
    assert Repository.open(tmp_path / "repo", key).config["aead"] == CHACHA
    with pytest.raises(WrongKey, match="doesn't open"):
        Repository.open(tmp_path / "repo", recovery.generate())
    stored = json.loads((tmp_path / "repo" / "keys" / "recovery.json").read_text())
    assert stored["kdf"] == "scrypt" and stored["n"] >= 1 << 15
    assert key not in (tmp_path / "repo" / "keys" / "recovery.json").read_text()
