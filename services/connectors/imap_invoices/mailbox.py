"""A blocking IMAP client over imaplib (run it in a thread), with its failures as error codes."""
from __future__ import annotations

import base64
import hashlib
import imaplib
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from appliance.jobs.connector import (LOGIN_FAILED, NETWORK, NOT_FOUND, USER_ACTION_NEEDED,
                                      VENDOR_DOWN, ConnectorError)

TIMEOUT = 30.0  # seconds without an answer before the server is deemed down
BATCH = 200  # messages whose headers are asked for at once
HEADERS = "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)]"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TLS_FIX = f"{USER_ACTION_NEEDED}.TLS"


def fingerprint(der: bytes) -> str:
    """Return a certificate's SHA-256 fingerprint as AB:CD:… (as openssl prints it)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def mailbox_name(name: str) -> str:
    """Return a mailbox name quoted for IMAP, in modified UTF-7 (RFC 3501 5.1.3)."""
    out, pending = [], ""

    def flush() -> None:
        if pending:
            encoded = base64.b64encode(pending.encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")

    for char in name:
        if 0x20 <= ord(char) <= 0x7e:
            flush()
            pending = ""
            out.append("&-" if char == "&" else char)
        else:
            pending += char
    flush()
    quoted = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


@dataclass(frozen=True)
class Server:
    """Where the mail is and how to reach it."""

    host: str
    port: int
    security: str  # tls, starttls or none
    login: str
    password: str
    pinned: str = ""  # a certificate fingerprint trusted instead of the authorities

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Server:
        """Return the server an account's fields describe."""
        security = fields.get("security") or "tls"
        port = fields.get("port") or ("993" if security == "tls" else "143")
        digest = re.sub(r"[:\s]", "", fields.get("fingerprint", "")).upper()
        pinned = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
        return cls(fields["host"], int(port), security, fields["login"], fields["password"],
                   pinned)


def login(imap: imaplib.IMAP4, user: str, password: str) -> None:
    """Log in; with AUTHENTICATE PLAIN in UTF-8 when LOGIN can't carry the characters."""
    if (user + password).isascii():
        imap.login(user, password)
    else:  # imaplib sends LOGIN in ASCII only; "mot de passe é" must still work
        imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())


class Mailbox:
    """One logged-in IMAP connection."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap
        self.uidnext = 0

    @classmethod
    def open(cls, server: Server) -> Mailbox:
        """Connect, check the certificate, log in; raise ConnectorError saying what failed."""
        imap = _connect(server)
        try:
            if server.security != "none":
                _check_pin(imap, server)
            login(imap, server.login, server.password)
        except imaplib.IMAP4.abort as exc:
            imap.shutdown()
            raise ConnectorError(VENDOR_DOWN, f"{server.host} hung up: {exc}") from None
        except imaplib.IMAP4.error as exc:
            imap.shutdown()
            raise ConnectorError(LOGIN_FAILED, f"{server.host} refused the login "
                                               f"{server.login}: {_said(exc)}") from None
        except BaseException:
            imap.shutdown()
            raise
        return cls(imap)

    def examine(self, name: str) -> int:
        """Open a mailbox read-only; return its UIDVALIDITY (NOT_FOUND if there is none)."""
        status, data = self.imap.select(mailbox_name(name), readonly=True)
        if status != "OK":
            raise ConnectorError(NOT_FOUND, f"there is no mailbox {name!r} on the server "
                                            f"({_said(data)}); check its name")
        self.uidnext = _number(self.imap.response("UIDNEXT")[1])
        return _number(self.imap.response("UIDVALIDITY")[1])

    def search(self, *, since: date | None = None, after: int | None = None) -> list[int]:
        """Return the UIDs of the messages received since a day, or after a UID."""
        if after is not None:
            criteria = ["UID", f"{after + 1}:*"]
        else:
            day = since or date.today()
            criteria = ["SINCE", f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"]
        found = self._ok(self.imap.uid("SEARCH", *criteria))
        uids = [int(u) for u in b" ".join(x for x in found if isinstance(x, bytes)).split()]
        # "n:*" always names the last message, even one below n.
        return sorted(u for u in uids if after is None or u > after)

    def headers(self, uids: list[int]) -> dict[int, bytes]:
        """Return the From, Subject, Date and Message-ID header lines of these messages."""
        result: dict[int, bytes] = {}
        for start in range(0, len(uids), BATCH):
            batch = ",".join(str(u) for u in uids[start:start + BATCH])
            result.update(_literals(self._ok(self.imap.uid("FETCH", batch, f"(UID {HEADERS})"))))
        return result

    def message(self, uid: int) -> tuple[bytes, datetime]:
        """Return one whole message and the moment the server received it."""
        data = self._ok(self.imap.uid("FETCH", str(uid), "(UID INTERNALDATE BODY.PEEK[])"))
        for item in data:
            if isinstance(item, tuple):
                return item[1], _received(item[0])
        raise ConnectorError(VENDOR_DOWN, f"the server sent no content for message {uid}")

    def close(self) -> None:
        """Log out (quietly: the run's outcome is already known)."""
        try:
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass

    def _ok(self, answer: tuple[str, list[object]]) -> list[object]:
        status, data = answer
        if status != "OK":
            raise ConnectorError(VENDOR_DOWN, f"the server refused a request: {_said(data)}")
        return data


@contextmanager
def talking(server: Server) -> Iterator[None]:
    """Turn the connection dropping in the middle of a run into VENDOR_DOWN."""
    try:
        yield
    except (imaplib.IMAP4.abort, OSError) as exc:
        raise ConnectorError(VENDOR_DOWN, f"{server.host} stopped answering: "
                                          f"{str(exc) or type(exc).__name__}") from None


def _connect(server: Server) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    if server.pinned:  # the fingerprint is checked instead, once connected
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    imap: imaplib.IMAP4 | None = None
    try:
        if server.security == "tls":
            return imaplib.IMAP4_SSL(server.host, server.port, ssl_context=context,
                                     timeout=TIMEOUT)
        imap = imaplib.IMAP4(server.host, server.port, timeout=TIMEOUT)
        if server.security == "starttls":
            imap.starttls(ssl_context=context)
        return imap
    except BaseException as exc:
        if imap is not None:
            imap.shutdown()
        raise _connect_error(server, exc) from None


def _connect_error(server: Server, exc: BaseException) -> BaseException:
    where = f"{server.host}:{server.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectorError(TLS_FIX, f"{where} shows a certificate no authority vouches "
                                       f"for ({exc.verify_message}). If it is your own server, "
                                       f"its SHA-256 fingerprint is {_peer_fingerprint(server)}: "
                                       f"check it and put it in the certificate field to trust it")
    if isinstance(exc, ssl.SSLError):
        return ConnectorError(TLS_FIX, f"TLS with {where} failed ({exc.reason}); check the "
                                       f"port and the security setting (993: TLS, 143: STARTTLS)")
    if isinstance(exc, imaplib.IMAP4.abort):
        return ConnectorError(VENDOR_DOWN, f"{where} hung up: {exc}")
    if isinstance(exc, imaplib.IMAP4.error):  # no STARTTLS offered
        return ConnectorError(TLS_FIX, f"{where} refused STARTTLS ({exc}); choose TLS (port "
                                       f"993) or check the server")
    if isinstance(exc, socket.gaierror):
        return ConnectorError(NETWORK, f"the name {server.host} can't be found ({exc.strerror}); "
                                       f"check it and the box's network")
    if isinstance(exc, (TimeoutError, OSError)):
        return ConnectorError(VENDOR_DOWN, f"can't reach {where}: {exc}")
    return exc


def _peer_fingerprint(server: Server) -> str:
    """Return the fingerprint of the certificate the server shows, read without trusting it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        if server.security == "tls":
            with socket.create_connection((server.host, server.port), TIMEOUT) as raw, \
                    context.wrap_socket(raw, server_hostname=server.host) as tls:
                der = tls.getpeercert(binary_form=True)
        else:
            imap = imaplib.IMAP4(server.host, server.port, timeout=TIMEOUT)
            imap.starttls(ssl_context=context)
            der = imap.sock.getpeercert(binary_form=True)  # type: ignore[attr-defined]
            imap.shutdown()
    except (OSError, imaplib.IMAP4.error):
        return "(unreadable)"
    return fingerprint(der) if der else "(none)"


def _check_pin(imap: imaplib.IMAP4, server: Server) -> None:
    if not server.pinned:
        return
    der = imap.sock.getpeercert(binary_form=True)  # type: ignore[attr-defined]
    shown = fingerprint(der) if der else "(none)"
    if shown != server.pinned:
        raise ConnectorError(TLS_FIX, f"{server.host} shows a certificate whose fingerprint "
                                      f"is {shown}, not the one trusted for this account; if "
                                      f"the server's certificate was renewed, put the new one "
                                      f"in the certificate field")


def _received(answer: bytes) -> datetime:
    """Return the INTERNALDATE of a FETCH answer; now if it is missing or out of range."""
    try:
        when = imaplib.Internaldate2tuple(answer)
        return datetime(*when[:6]) if when else datetime.now()
    except (OverflowError, ValueError):  # a year 0 or 9999 in the server's answer
        return datetime.now()


def _literals(data: list[object]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for item in data:
        if isinstance(item, tuple):
            uid = re.search(rb"UID (\d+)", item[0])
            if uid:
                found[int(uid.group(1))] = item[1]
    return found


def _number(values: list[object]) -> int:
    first = values[0] if values else None
    try:
        return int(first) if isinstance(first, (bytes, str)) else 0
    except ValueError:  # the server said something else than a number
        return 0


def _said(data: object) -> str:
    if isinstance(data, list):
        data = b" ".join(x for x in data if isinstance(x, bytes))
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)
