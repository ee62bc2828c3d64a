"""Token scopes: what a token may reach."""
from __future__ import annotations

import pytest

from appliance.auth.tokens import Scope, ScopeError

PRIVATE = ("io.hearth.sessions", "io.hearth.tokens", "io.hearth.owner")


def test_scope_with_verbs_covers_only_those() -> None:
    scope = Scope.parse("io.hearth.bills:GET,post", private=PRIVATE)
    assert scope.covers("io.hearth.bills", "GET") and scope.covers("io.hearth.bills", "POST")
    assert not scope.covers("io.hearth.bills", "DELETE")
    assert not scope.covers("io.hearth.billsx", "GET")
    assert str(scope) == "io.hearth.bills:GET,POST"


def test_wildcard_covers_children_only() -> None:
    scope = Scope.parse("io.hearth.bank.*")
    assert scope.covers("io.hearth.bank.operations", "DELETE")
    assert not scope.covers("io.hearth.banking", "GET")
    assert str(scope) == "io.hearth.bank.*"


@pytest.mark.parametrize("text,words", [
    ("io.hearth.sessions", "private"), ("io.hearth.tokens:GET", "private"),
    ("bills", "not a doctype"), ("io.hearth.bills:FETCH", "unknown verb"),
    ("../etc/passwd", "not a doctype"), ("Io.Hearth.Bills", "not a doctype"),
])
def test_bad_scopes_say_why(text: str, words: str) -> None:
    with pytest.raises(ScopeError, match=words):
        Scope.parse(text, private=PRIVATE)
