"""A private Dovecot IMAP server on loopback (plain, STARTTLS and TLS) for the mail connector."""
from __future__ import annotations

import hashlib
import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

import pytest

MAIL_UID = 65534  # nobody: Dovecot refuses to serve mail as root
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    port = {plain}
  }}
  inet_listener imaps {{
    port = {tls}
    ssl = yes
  }}
}}
"""


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Dovecot:
    """A running server: its ports, its one user, and its certificate's fingerprint."""

    root: Path
    plain: int
    tls: int
    login: str
    password: str
    fingerprint: str

    def client(self) -> imaplib.IMAP4:
        """Return a logged-in client, as a mail program would be."""
        imap = imaplib.IMAP4("127.0.0.1", self.plain, timeout=10)
        imap.authenticate("PLAIN", lambda _: f"\0{self.login}\0{self.password}".encode())
        return imap

    def append(self, message: EmailMessage, *, received: datetime | None = None,
               mailbox: str = "INBOX") -> None:
        """Put a message into a mailbox, received at a given moment (now by default)."""
        when = received or datetime.now(timezone.utc)
        imap = self.client()
        try:
            status, data = imap.append(mailbox, None, imaplib.Time2Internaldate(when),
                                       message.as_bytes())
            assert status == "OK", data
        finally:
            imap.logout()

    def create(self, mailbox: str) -> None:
        """Create a mailbox (a folder of mail)."""
        imap = self.client()
        try:
            assert imap.create(mailbox)[0] == "OK"
        finally:
            imap.logout()


def _wait_for(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not listen within 10 s")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in the foreground on two free ports, with a self-signed certificate."""
    if os.geteuid() != 0:
        pytest.skip("Dovecot's login processes need root (run the tests as scripts/test does)")
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    root = Path(tempfile.mkdtemp(prefix="hearth-conn-mail-dovecot-"))
    root.chmod(0o755)  # the mail user (nobody) walks through it to its home
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=mail.example.test", "-keyout", str(root / "key.pem"),
                        "-out", str(root / "cert.pem")], check=True, capture_output=True)
        der = ssl.PEM_cert_to_DER_cert((root / "cert.pem").read_text())
        digest = hashlib.sha256(der).hexdigest().upper()
        home = root / "home"
        home.mkdir()
        os.chown(home, MAIL_UID, MAIL_UID)
        password = "s3cret-Mot de passe à Noël"
        (root / "passwd").write_text(
            f"camille:{{PLAIN}}{password}:{MAIL_UID}:{MAIL_UID}::{home}/camille\n",
            encoding="utf-8")
        plain, tls = free_port(), free_port()
        (root / "dovecot.conf").write_text(CONFIG.format(root=root, plain=plain, tls=tls))
        proc = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        _wait_for(plain, proc, root / "dovecot.log")
        _wait_for(tls, proc, root / "dovecot.log")
        yield Dovecot(root, plain, tls, "camille", password,
                      ":".join(digest[i:i + 2] for i in range(0, 64, 2)))
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def tiny_pdf(text: str) -> bytes:
    """Return a valid one-page PDF showing `text` (with a correct cross-reference table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def mail(sender: str, subject: str, body: str, *, pdf: dict[str, bytes] | None = None,
         sent: datetime | None = None, html: bool = False) -> EmailMessage:
    """Return a mail as a supplier sends it: text (or HTML) and PDF attachments."""
    msg = EmailMessage()
    msg["From"] = f"Service client <{sender}>"
    msg["To"] = "camille@example.test"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent or datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg.set_content(body, subtype="html" if html else "plain")
    for name, data in (pdf or {}).items():
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg
