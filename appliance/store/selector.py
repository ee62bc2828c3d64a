"""Mango-like selectors: matching documents, the equalities an index can serve, sorting."""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Sequence
from typing import Any

from appliance.store.documents import Doc
from appliance.store.errors import InvalidSelector

Matcher = Callable[[Doc], bool]
MISSING: Any = object()
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b,
}
_FIELD_OPERATORS = ("$eq", "$ne", *_COMPARISONS, "$in", "$nin", "$exists", "$not")
_COMBINATORS = ("$and", "$or", "$not")
# Deeper than any selector a person writes; deep enough nesting would exhaust the stack.
MAX_DEPTH = 32


def nesting_depth(value: object, *, stop_at: int) -> int:
    """Return how deeply lists and objects nest in a JSON value (counting stops past `stop_at`)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > stop_at:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


def resolve(doc: Any, path: Sequence[str]) -> Any:
    """Return the value at a dotted path split in parts, or MISSING."""
    for part in path:
        if type(doc) is not dict or part not in doc:
            return MISSING
        doc = doc[part]
    return doc


def equal(a: Any, b: Any) -> bool:
    """Compare JSON values, keeping true distinct from 1."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return bool(a == b)


class Selector:
    """A compiled selector: raises InvalidSelector at once if malformed."""

    def __init__(self, selector: object) -> None:
        if nesting_depth(selector, stop_at=MAX_DEPTH) > MAX_DEPTH:
            raise InvalidSelector(f"a selector may nest at most {MAX_DEPTH} levels deep")
        self.matches: Matcher = _selector(selector)
        self.equalities: list[tuple[str, list[Any]]] = []
        _collect_equalities(selector, "", self.equalities)


def _selector(selector: object) -> Matcher:
    if not isinstance(selector, dict):
        raise InvalidSelector(
            f'a selector must be a JSON object like {{"type": "file"}}, not {selector!r}'
        )
    matchers: list[Matcher] = []
    for key, arg in selector.items():
        if key.startswith("$"):
            matchers.append(_combinator(key, arg))
        else:
            matchers.append(_field(key.split("."), arg))
    return _all(matchers)


def _all(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    return lambda doc: all(m(doc) for m in matchers)


def _combinator(op: str, arg: Any) -> Matcher:
    if op == "$not":
        inner = _selector(arg)
        return lambda doc: not inner(doc)
    if op not in _COMBINATORS:
        raise _unknown(op, _COMBINATORS)
    if not isinstance(arg, list) or not arg:
        raise InvalidSelector(f"{op} needs a non-empty list of selectors, not {arg!r}")
    parts = [_selector(sub) for sub in arg]
    if op == "$and":
        return lambda doc: all(m(doc) for m in parts)
    return lambda doc: any(m(doc) for m in parts)


def _field(path: list[str], arg: Any) -> Matcher:
    if isinstance(arg, dict) and arg:
        operators = [key for key in arg if key.startswith("$")]
        if len(operators) == len(arg):
            return _all([_operator(path, op, value) for op, value in arg.items()])
        if operators:
            raise InvalidSelector(
                f"{'.'.join(path)!r} mixes operators {operators} with field names; "
                "put each in its own condition"
            )
        return _all([_field(path + key.split("."), value) for key, value in arg.items()])
    return _operator(path, "$eq", arg)


def _operator(path: list[str], op: str, arg: Any) -> Matcher:
    def value(doc: Doc) -> Any:
        return resolve(doc, path)

    if op == "$eq":
        return lambda doc: (v := value(doc)) is not MISSING and equal(v, arg)
    if op == "$ne":
        return lambda doc: (v := value(doc)) is not MISSING and not equal(v, arg)
    if op in _COMPARISONS:
        compare = _COMPARISONS[op]
        kind = _comparable_kind(op, arg)
        return lambda doc: _comparable_kind(None, v := value(doc)) == kind and compare(v, arg)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise InvalidSelector(f"{op} needs a list of values, not {arg!r}")
        wanted = op == "$in"
        return lambda doc: (v := value(doc)) is not MISSING and (
            any(equal(v, item) for item in arg) == wanted
        )
    if op == "$exists":
        if not isinstance(arg, bool):
            raise InvalidSelector(f"$exists needs true or false, not {arg!r}")
        return lambda doc: (value(doc) is not MISSING) == arg
    if op == "$not":
        inner = _field(path, arg)
        return lambda doc: not inner(doc)
    raise _unknown(op, _FIELD_OPERATORS)


def _comparable_kind(op: str | None, arg: Any) -> str | None:
    if isinstance(arg, str):
        return "string"
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return "number"
    if op is not None:
        raise InvalidSelector(f"{op} compares with a number or a string, not {arg!r}")
    return None


def _unknown(op: str, known: Sequence[str]) -> InvalidSelector:
    return InvalidSelector(
        f"unknown operator {op} in selector; supported here: {', '.join(known)}"
    )


def _collect_equalities(selector: Any, prefix: str, out: list[tuple[str, list[Any]]]) -> None:
    for key, arg in selector.items():
        if key == "$and":
            for sub in arg:
                _collect_equalities(sub, prefix, out)
        elif not key.startswith("$"):
            field = prefix + key
            if not isinstance(arg, dict) or not arg:
                out.append((field, [arg]))
            elif not any(k.startswith("$") for k in arg):
                _collect_equalities(arg, field + ".", out)
            else:
                if "$eq" in arg:
                    out.append((field, [arg["$eq"]]))
                if "$in" in arg:
                    out.append((field, list(arg["$in"])))


class SortOrder:
    """A sort specification like ["date"] or [{"date": "desc"}]; ties go by _id."""

    def __init__(self, sort: object) -> None:
        self.keys: list[tuple[list[str], bool]] = []
        if sort is None:
            return
        if not isinstance(sort, list):
            raise InvalidSelector(
                f'sort must be a list like [{{"date": "desc"}}], not {sort!r}'
            )
        for item in sort:
            if isinstance(item, str):
                self.keys.append((item.split("."), False))
            elif isinstance(item, dict) and len(item) == 1:
                ((field, direction),) = item.items()
                if direction not in ("asc", "desc"):
                    raise InvalidSelector(
                        f'sort direction must be "asc" or "desc", not {direction!r}'
                    )
                self.keys.append((field.split("."), direction == "desc"))
            else:
                raise InvalidSelector(
                    f'a sort item is a field name or {{"field": "asc"|"desc"}}, not {item!r}'
                )

    def page(self, docs: list[Doc], skip: int, limit: int | None) -> list[Doc]:
        """Return docs in this order, without the first skip, at most limit of them."""
        end = None if limit is None else skip + limit
        if not self.keys and end is not None:
            return heapq.nsmallest(end, docs, key=_by_id)[skip:]
        docs = sorted(docs, key=_by_id)
        for path, descending in reversed(self.keys):
            docs.sort(key=lambda doc: collate(resolve(doc, path)), reverse=descending)
        return docs[skip:end]


def _by_id(doc: Doc) -> str:
    return str(doc["_id"])


def collate(value: Any) -> tuple[Any, ...]:
    """Return a key that orders JSON values: null, booleans, numbers, strings, arrays, objects."""
    if value is MISSING or value is None:
        return (0, 0)
    if type(value) is bool:
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    if isinstance(value, list):
        return (4, tuple(collate(v) for v in value))
    return (5, json.dumps(value, sort_keys=True))
