"""The If header of RFC 4918 §10.4: lists of lock tokens and ETags, parsed and evaluated."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from services.webdav.errors import bad_request

logger = logging.getLogger(__name__)

NO_LOCK = "DAV:no-lock"  # a state token no resource ever has: (Not <DAV:no-lock>) is true
_ITEM = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|<(?P<url>[^<>]*)>'
                   r'|\[(?P<etag>(?:W/)?"[^"]*")\]|(?P<not>not)(?=[\s<\[]))', re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    """One condition of a list: a state token or an ETag, maybe negated by Not."""

    negated: bool
    token: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Clause:
    """One parenthesised list; `tag` is the resource it tests (None: the Request-URI)."""

    tag: str | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class State:
    """What the If header can see of a resource: its ETag and the locks that cover it."""

    etag: str | None
    tokens: frozenset[str]


@dataclass(frozen=True)
class IfHeader:
    """A parsed If header: true when any of its clauses is."""

    clauses: tuple[Clause, ...]

    def tokens(self) -> frozenset[str]:
        """Return the lock tokens it submits (those not under Not)."""
        return frozenset(c.token for clause in self.clauses for c in clause.conditions
                         if c.token is not None and not c.negated)

    def tags(self) -> frozenset[str]:
        """Return the resource tags it names."""
        return frozenset(c.tag for c in self.clauses if c.tag is not None)

    def holds(self, state_of: Callable[[str | None], State]) -> bool:
        """Return whether any clause is true of the resource it names (§10.4.1)."""
        return any(_clause_holds(clause, state_of(clause.tag)) for clause in self.clauses)


def _clause_holds(clause: Clause, state: State) -> bool:
    for condition in clause.conditions:
        if condition.token is not None:
            met = condition.token in state.tokens
        else:
            # Strong comparison, as for If-Match: a weak tag never matches.
            met = state.etag is not None and condition.etag == state.etag
        if met == condition.negated:
            return False
    return True


def parse_if(raw: str) -> IfHeader:
    """Return the If header parsed, 400 with the place it goes wrong."""
    clauses: list[Clause] = []
    tag: str | None = None
    tag_used = True
    tagged: bool | None = None
    pos, end = 0, len(raw.rstrip())
    while pos < end:
        match = _ITEM.match(raw, pos)
        if match is None or match.group("open") is None and match.group("url") is None:
            raise _syntax(raw, pos)
        pos = match.end()
        if match.group("url") is not None:  # a resource tag
            if tagged is False or not tag_used:
                raise _syntax(raw, match.start())
            tagged, tag, tag_used = True, match.group("url"), False
            continue
        if tagged is None:
            tagged = False
        conditions, pos = _conditions(raw, pos)
        clauses.append(Clause(tag, tuple(conditions)))
        tag_used = True
    if not clauses or not tag_used:
        raise _syntax(raw, end)
    return IfHeader(tuple(clauses))


def _conditions(raw: str, pos: int) -> tuple[list[Condition], int]:
    conditions: list[Condition] = []
    negated = False
    while True:
        match = _ITEM.match(raw, pos)
        if match is None or match.group("open") is not None:
            raise _syntax(raw, pos)
        pos = match.end()
        if match.group("close") is not None:
            if negated or not conditions:
                raise _syntax(raw, match.start())
            return conditions, pos
        if match.group("not") is not None:
            if negated:
                raise _syntax(raw, match.start())
            negated = True
            continue
        conditions.append(Condition(negated, token=match.group("url"), etag=match.group("etag")))
        negated = False


def _syntax(raw: str, pos: int) -> Exception:
    return bad_request(f"The If header can't be read at character {pos + 1}: {raw[:200]!r}. "
                       "It should look like (<opaquelocktoken:…>) or </path> ([\"etag\"]).")
