"""The data API, shaped like cozy-stack's: /data/{doctype}/… with sessions or tokens."""
from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from aiohttp import web

from appliance import keys
from appliance.web.guard import identity, token_access
from appliance.doctypes import SchemaError
from appliance.errors import UserError
from appliance.i18n import N_
from appliance.store import Collection
from appliance.store.selector import nesting_depth

routes = web.RouteTableDef()
MAX_FIND_LIMIT = 1000
# What a document may hold: deeper nesting or longer numbers only serve to exhaust the
# stack or the CPU (Python's int() of a long number is quadratic).
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 64


class _Unreadable(ValueError):
    """A JSON body within the size limit that this box still won't read."""


def _number(kind: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_CHARS:
            raise _Unreadable(f"a number has more than {MAX_NUMBER_CHARS} characters")
        value = kind(literal)
        if not math.isfinite(value):
            raise _Unreadable(f"{literal} is out of range")
        return value
    return parse


def _no_constant(name: str) -> NoReturn:
    raise _Unreadable(f"{name} is not a JSON number")


def read_json(raw: bytes) -> Any:
    """Return the JSON in `raw`; raise ValueError for what is malformed, too deep or too long."""
    try:
        data = json.loads(raw, parse_int=_number(int), parse_float=_number(float),
                          parse_constant=_no_constant)
    except RecursionError:
        raise _Unreadable(f"it nests more than {MAX_DEPTH} levels deep") from None
    if nesting_depth(data, stop_at=MAX_DEPTH) > MAX_DEPTH:
        raise _Unreadable(f"it nests more than {MAX_DEPTH} levels deep")
    return data


def _allow(request: web.Request, doctype: str, verb: str) -> None:
    core = request.config_dict[keys.CORE]
    if doctype in core.private_doctypes():
        raise UserError(N_("%(doctype)s is private to the box."), status=403, doctype=doctype)
    spec = core.doctypes.get(doctype)
    if verb != "GET" and spec is not None and not spec.api_writable:
        raise UserError(N_("%(doctype)s is read-only here: change it through its service."),
                        status=403, doctype=doctype)
    who = identity(request)
    if who is not None and who.token is not None and not who.token.allows(doctype, verb):
        raise UserError(N_("This token may not %(verb)s %(doctype)s."), status=403, verb=verb,
                        doctype=doctype)


async def _collection(request: web.Request, verb: str, *, create: bool) -> Collection | None:
    """Return the doctype's collection; None when reading one never written."""
    doctype = request.match_info["doctype"]
    _allow(request, doctype, verb)
    core = request.config_dict[keys.CORE]
    if doctype in core.collections:
        return core.collections[doctype]
    if not create and doctype not in core.store.doctypes():
        return None
    coll = await core.store.collection(doctype)  # an InvalidDoctype answers 400
    core.collections[doctype] = coll
    return coll


async def _body(request: web.Request) -> dict[str, Any]:
    limit = request.config_dict[keys.SETTINGS].max_body_kb * 1024
    if request.content_type != "application/json":
        raise UserError(N_("Send the document as JSON (Content-Type: application/json)."),
                        status=415)
    too_large = UserError(N_("The body is larger than %(kib)d KiB."), status=413,
                          kib=limit // 1024)
    if (request.content_length or 0) > limit:
        raise too_large
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise too_large
    try:
        data = read_json(raw)
    except ValueError as exc:  # malformed (JSONDecodeError, UnicodeDecodeError) or too much
        raise UserError(N_("The body is not valid JSON: %(why)s"), why=str(exc)) from None
    if not isinstance(data, dict):
        raise UserError(N_("The body must be a JSON object."))
    return data


def _validate(request: web.Request, doc: dict[str, Any]) -> None:
    spec = request.config_dict[keys.CORE].doctypes.get(request.match_info["doctype"])
    if spec is not None:
        try:
            spec.validate(doc)
        except SchemaError as exc:
            raise UserError(str(exc)) from None  # the schema's own words


def _saved(doctype: str, doc: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response({"ok": True, "id": doc["_id"], "rev": doc["_rev"],
                              "type": doctype, "data": doc}, status=status)


@routes.post("/data/{doctype}/")
@token_access
async def create(request: web.Request) -> web.Response:
    """Create a document; answer it with its _id and _rev."""
    coll = await _collection(request, "POST", create=True)
    assert coll is not None
    doc = await _body(request)
    if "_rev" in doc:
        raise UserError(N_("A new document has no _rev; to update, PUT it to its URL."))
    _validate(request, doc)
    saved = await coll.create(doc)  # a StoreError answers with its own status
    return _saved(request.match_info["doctype"], saved, status=201)


@routes.post("/data/{doctype}/_find")
@token_access
async def find(request: web.Request) -> web.Response:
    """Find documents matching a selector."""
    coll = await _collection(request, "GET", create=False)
    query = await _body(request)
    unknown = set(query) - {"selector", "limit", "skip", "sort"}
    if unknown:
        raise UserError(N_("Unknown key '%(key)s': use selector, limit, skip and sort."),
                        key=sorted(unknown)[0])
    selector = query.get("selector", {})
    limit, skip, sort = query.get("limit", 100), query.get("skip", 0), query.get("sort")
    if not isinstance(selector, dict):
        raise UserError(N_("selector must be a JSON object."))
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_FIND_LIMIT:
        raise UserError(N_("limit must be a whole number from 1 to %(most)d."), most=MAX_FIND_LIMIT)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise UserError(N_("skip must be a whole number ≥ 0."))
    if sort is not None and not isinstance(sort, list):
        raise UserError(N_('sort must be a list, like [{"date": "desc"}].'))
    # an InvalidSelector answers 400 with the store's words
    docs = [] if coll is None else coll.find(selector, limit=limit + 1, skip=skip, sort=sort)
    return web.json_response({"docs": docs[:limit], "limit": limit, "skip": skip,
                              "next": len(docs) > limit})


def _doc_id(request: web.Request) -> str:
    doc_id = request.match_info["docid"]
    if doc_id.startswith("_") or len(doc_id) > 128:
        raise UserError(N_("'%(id)s' is not a document id."), id=doc_id[:40])
    return doc_id


@routes.get("/data/{doctype}/{docid}")
@token_access
async def read(request: web.Request) -> web.Response:
    """Return one document."""
    coll = await _collection(request, "GET", create=False)
    doc = None if coll is None else coll.get(_doc_id(request))
    if doc is None:
        raise UserError(N_("No such document."), status=404)
    return web.json_response(doc)


@routes.put("/data/{doctype}/{docid}")
@token_access
async def update(request: web.Request) -> web.Response:
    """Replace a document (with its current _rev), or create it at this id."""
    coll = await _collection(request, "PUT", create=True)
    assert coll is not None
    doc_id = _doc_id(request)
    doc = await _body(request)
    if doc.setdefault("_id", doc_id) != doc_id:
        raise UserError(N_("The _id in the body differs from the one in the URL."))
    _validate(request, doc)
    saved = await coll.put(doc)
    return _saved(request.match_info["doctype"], saved)


@routes.delete("/data/{doctype}/{docid}")
@token_access
async def delete(request: web.Request) -> web.Response:
    """Delete a document at its current revision (?rev=…)."""
    coll = await _collection(request, "DELETE", create=False)
    doc_id = _doc_id(request)
    rev = request.query.get("rev")
    if not rev:
        raise UserError(N_("Say which revision you delete: ?rev=CURRENT_REV."))
    if coll is None:
        raise UserError(N_("No such document."), status=404)
    await coll.delete(doc_id, rev)
    return web.json_response({"ok": True, "id": doc_id, "type": request.match_info["doctype"]})
