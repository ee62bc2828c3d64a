"""The daemon's side of the box's certificates: serve them, and have them renewed.

Issuing and checking certificates needs the cryptography package, whose own
OpenSSL would stay resident in the daemon (about 8 MiB on x86-64) for a job done
twice a day. So the daemon reads the files with the standard library only and
asks a short-lived `python -m appliance.platform.tls` child to issue or renew
them (`appliance/platform/tls.py`).
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import ssl
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

CA_CERT = "ca.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
ISSUE_TIMEOUT = 120.0  # a Pi 2 makes an EC key and two certificates in a few seconds

Ensure = Callable[[str, Sequence[str]], Awaitable[bool]]


class CertError(Exception):
    """The certificates can't be used or made; the message says why."""


def fingerprint(pem: bytes) -> str:
    """Return the SHA-256 fingerprint of a PEM certificate, as colon-separated hex."""
    der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


class CertFiles:
    """The certificate files in a folder, read with the standard library (blocking calls)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def ssl_context(self) -> ssl.SSLContext:
        """Return a server SSLContext (TLS 1.2 or later) with the cert and its chain."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.folder / SERVER_CERT, self.folder / SERVER_KEY)
        except (OSError, ssl.SSLError) as error:
            raise CertError(f"cannot load the server certificate from {self.folder} "
                            f"({error}); call ensure() first") from error
        return context

    def ca_pem(self) -> bytes:
        """Return the CA certificate households install, as PEM."""
        try:
            return (self.folder / CA_CERT).read_bytes()
        except FileNotFoundError as error:
            raise CertError(f"the box has no CA yet ({self.folder / CA_CERT} is missing)"
                            ) from error

    def ca_fingerprint(self) -> str:
        """Return the CA certificate's SHA-256 fingerprint."""
        return fingerprint(self.ca_pem())

    async def ensure(self, name: str, addresses: Sequence[str]) -> bool:
        """Have a child process issue or renew the certificates; return whether they changed."""
        argv = [sys.executable, "-m", "appliance.platform.tls", str(self.folder), "--name", name]
        for address in addresses:
            argv += ["--address", address]
        child = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(child.communicate(), ISSUE_TIMEOUT)
        except TimeoutError:
            child.kill()
            await child.wait()
            raise CertError(f"issuing the certificate took over {ISSUE_TIMEOUT:.0f} s") from None
        if child.returncode != 0:
            raise CertError(err.decode(errors="replace").strip() or
                            f"the certificate tool failed ({child.returncode})")
        return bool(json.loads(out)["changed"])


class LiveContext:
    """The SSLContext handed to aiohttp once; `swap` makes later handshakes use a newer one."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.current = context
        context.sni_callback = self._pick

    def swap(self, context: ssl.SSLContext) -> None:
        """Serve new connections with `context`; open connections keep their certificate."""
        self.current = context

    def _pick(self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None,
              context: ssl.SSLContext) -> None:
        if self.current is not context:
            connection.context = self.current


async def renew_loop(ensure: Ensure, name_fn: Callable[[], str],
                     addresses_fn: Callable[[], Sequence[str]],
                     on_change: Callable[[], Awaitable[None] | None], *,
                     every: float = 12 * 3600, retry: float = 900) -> None:
    """Check the certificate now and every `every` seconds; call on_change() after a re-issue.

    name_fn and addresses_fn run in a worker thread. After a failure
    (say, a clock not yet set, or on_change() raising) the check is retried every
    `retry` seconds; each outage is logged once.
    """
    failing = unloaded = False
    while True:
        try:
            name, addresses = await asyncio.to_thread(lambda: (name_fn(), addresses_fn()))
            changed = await ensure(name, addresses)
            unloaded = unloaded or changed
            if unloaded:  # until on_change() succeeds, the new certificate is not served
                outcome = on_change()
                if inspect.isawaitable(outcome):
                    await outcome
                unloaded = False
        except Exception as error:
            if not failing:
                logger.error("could not renew the HTTPS certificate (retrying every %.0f s): %s",
                             retry, error)
            failing = True
        else:
            if failing:
                logger.info("the HTTPS certificate is in order again")
            failing = False
        await asyncio.sleep(retry if failing else every)
