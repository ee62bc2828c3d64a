"""The owner's passphrase: hashing and the strength check."""
from __future__ import annotations

import pytest

from appliance.auth.passphrase import hash_passphrase, strength_problem, verify_passphrase


def test_hash_verifies_only_the_same_passphrase() -> None:
    stored = hash_passphrase("correct horse battery staple")
    assert stored.startswith("scrypt$32768$8$1$")
    assert verify_passphrase("correct horse battery staple", stored)
    assert not verify_passphrase("correct horse battery stapler", stored)
    assert stored != hash_passphrase("correct horse battery staple")  # salted


def test_unicode_forms_match() -> None:
    composed, decomposed = "caf\u00e9 au lait chaud", "cafe\u0301 au lait chaud"
    assert verify_passphrase(decomposed, hash_passphrase(composed))


@pytest.mark.parametrize("stored", ["", "scrypt$x", "bcrypt$1$2$3$4$5", "scrypt$1$8$1$!!$!!"])
def test_garbage_hash_never_verifies(stored: str) -> None:
    assert not verify_passphrase("anything at all", stored)


@pytest.mark.parametrize("weak", [
    "short", "password123", "Password1234", "aaaaaaaaaaaaaa", "abcdefghijklmn",
    "12345678901", "azertyuiop1", "maisonmaison1", "x" * 2000,
])
def test_weak_passphrases_are_refused_with_a_reason(weak: str) -> None:
    problem = strength_problem(weak, context=("maisonmaison",))
    assert problem and problem.endswith(".")


@pytest.mark.parametrize("good", [
    "correct horse battery staple", "Tr0mpette-Lune", "le chat dort sur le toit",
])
def test_reasonable_passphrases_pass(good: str) -> None:
    assert strength_problem(good) is None
