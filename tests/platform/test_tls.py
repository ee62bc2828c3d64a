"""The box's CA and server certificate: real files, real TLS handshakes, checked by openssl too."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import ssl
import stat
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.platform.certs import LiveContext, renew_loop
from appliance.platform.tls import (
    Authority,
    BoxCertificates,
    TlsError,
    server_certificate,
    validity,
)
from appliance.durable import FileOps

NAME = "hearth"
ADDRESSES = ["192.168.1.20", "fe80::1%eth0", "2a01:e0a::1", "127.0.0.1"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the daemon keeps TLS material: system/tls."""
    return tmp_path / "system" / "tls"


@pytest.fixture
def certs(folder: Path) -> BoxCertificates:
    """A box that has issued its CA and server certificate."""
    box = BoxCertificates(folder)
    assert box.ensure(NAME, ADDRESSES)
    return box


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the openssl command and return what it printed."""
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True,
                          timeout=10)


def trusting(folder: Path) -> ssl.SSLContext:
    """Return a client context that trusts the box's CA and nothing else."""
    context = ssl.create_default_context(cafile=folder / "ca.pem")
    assert context.cert_store_stats()["x509_ca"] == 1
    return context


def server_cert(folder: Path) -> x509.Certificate:
    """Return the server certificate as the box serves it (first in server.pem)."""
    return x509.load_pem_x509_certificate((folder / "server.pem").read_bytes())


def sans(cert: x509.Certificate) -> set[str]:
    """Return the names and addresses a certificate covers, as text."""
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(value) for value in ext.get_values_for_type(x509.DNSName)
            } | {str(value) for value in ext.get_values_for_type(x509.IPAddress)}


@pytest.fixture
async def https(certs: BoxCertificates) -> AsyncIterator[tuple[int, LiveContext]]:
    """Serve a page over HTTPS on 127.0.0.1 with the box's certificate; yield its port."""
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello from the box")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    live = LiveContext(await asyncio.to_thread(certs.ssl_context))
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=live.context).start()
    port = runner.addresses[0][1]
    try:
        yield port, live
    finally:
        await runner.cleanup()


async def handshake(port: int, context: ssl.SSLContext) -> tuple[x509.Certificate, str]:
    """Connect to the box as <name>.local; return the certificate it presented and the TLS version."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                   server_hostname=f"{NAME}.local")
    ssl_object = writer.get_extra_info("ssl_object")
    der, version = ssl_object.getpeercert(binary_form=True), ssl_object.version()
    writer.close()
    await writer.wait_closed()
    return x509.load_der_x509_certificate(der), version


def test_keys_are_private_to_the_daemon(folder: Path) -> None:
    """Even with a permissive umask, keys are 0600 in a 0700 folder; certificates 0644."""
    old = os.umask(0)
    try:
        BoxCertificates(folder).ensure(NAME, ADDRESSES)
    finally:
        os.umask(old)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}
    assert modes == {"ca.key": 0o600, "server.key": 0o600, "ca.pem": 0o644, "server.pem": 0o644}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_a_device_that_trusts_the_ca_connects(
        certs: BoxCertificates, folder: Path, https: tuple[int, LiveContext]) -> None:
    """A client trusting only the CA reaches https://hearth.local, over TLS 1.2 or later."""
    port, _ = https
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://127.0.0.1:{port}/", ssl=trusting(folder),
                               server_hostname=f"{NAME}.local") as response:
            assert await response.text() == "hello from the box"
    _, version = await handshake(port, trusting(folder))
    assert version in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("hostname", ["other.local", "hearth.example.com"])
async def test_another_name_fails_verification(
        folder: Path, https: tuple[int, LiveContext], hostname: str) -> None:
    """The certificate does not pass for any name but the box's own."""
    port, _ = https
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError, match="match"):
            await session.get(f"https://127.0.0.1:{port}/", ssl=trusting(folder),
                              server_hostname=hostname)


def test_openssl_sees_a_constrained_ca_and_the_box_names(certs: BoxCertificates,
                                                         folder: Path) -> None:
    """openssl verifies the chain, and shows the name constraints and the SANs."""
    verified = openssl("verify", "-purpose", "sslserver", "-CAfile", folder / "ca.pem",
                       folder / "server.pem")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    ca = openssl("x509", "-in", folder / "ca.pem", "-noout", "-text").stdout
    for expected in ("CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "Name Constraints: critical",
                     "Permitted:", "DNS:local", "IP:10.0.0.0/255.0.0.0", "IP:172.16.0.0/255.240.0.0",
                     "IP:192.168.0.0/255.255.0.0", "IP:169.254.0.0/255.255.0.0",
                     "IP:FC00:0:0:0:0:0:0:0/FE00:0:0:0:0:0:0:0",
                     "IP:FE80:0:0:0:0:0:0:0/FFC0:0:0:0:0:0:0:0", f"CN = Hearth {NAME} local CA"):
        assert expected in ca
    server = openssl("x509", "-in", folder / "server.pem", "-noout", "-text").stdout
    for expected in ("DNS:hearth.local", "IP Address:192.168.1.20",
                     "IP Address:FE80:0:0:0:0:0:0:1", "TLS Web Server Authentication",
                     "Digital Signature", "CA:FALSE"):
        assert expected in server
    # A public address or loopback cannot be vouched for by this CA, so it is left out.
    assert sans(server_cert(folder)) == {"hearth.local", "192.168.1.20", "fe80::1"}
    not_before, not_after = validity(server_cert(folder))
    assert not_after - not_before <= timedelta(days=397)


@pytest.mark.parametrize("hostname, address", [("bank.example.com", None), ("hearth", None),
                                               ("hearth.local", "8.8.8.8")])
def test_the_ca_vouches_for_nothing_outside_the_home(certs: BoxCertificates, folder: Path,
                                                     hostname: str, address: str | None) -> None:
    """Even with the CA's key, a certificate for another name or a public address is refused."""
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    ips = [ipaddress.ip_address(address)] if address else []
    rogue = server_certificate(Authority(key, ca), ec.generate_private_key(ec.SECP256R1()),
                               hostname, ips, datetime.now(timezone.utc))
    (folder / "rogue.pem").write_bytes(rogue.public_bytes(serialization.Encoding.PEM))
    verified = openssl("verify", "-CAfile", folder / "ca.pem", folder / "rogue.pem")
    assert verified.returncode != 0
    assert "permitted subtree violation" in verified.stdout + verified.stderr


def test_renewal_keeps_the_ca(certs: BoxCertificates, folder: Path) -> None:
    """A year on, the server certificate is re-issued by the same CA the household trusts."""
    fingerprint, old = certs.ca_fingerprint(), server_cert(folder)
    later = datetime.now(timezone.utc) + timedelta(days=380)
    assert certs.ensure(NAME, ADDRESSES, now=later)
    new = server_cert(folder)
    assert new.serial_number != old.serial_number
    assert validity(new)[1] > later + timedelta(days=300)
    assert certs.ca_fingerprint() == fingerprint
    verified = openssl("verify", "-attime", str(int(later.timestamp())),
                       "-CAfile", folder / "ca.pem", folder / "server.pem")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not certs.ensure(NAME, ADDRESSES, now=later + timedelta(days=1))


def test_nothing_changes_when_nothing_needs_to(certs: BoxCertificates, folder: Path) -> None:
    """Same name, fewer or uncoverable addresses, a month later: the files stay as they are."""
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert not certs.ensure(NAME, ADDRESSES)
    assert not certs.ensure("Hearth", ["192.168.1.20"])
    assert not certs.ensure(NAME, [*ADDRESSES, "203.0.113.7"])
    assert not certs.ensure(NAME, ADDRESSES, now=datetime.now(timezone.utc) + timedelta(days=30))
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


@pytest.mark.parametrize("name, addresses, covered", [
    ("attic", ADDRESSES, {"attic.local", "192.168.1.20", "fe80::1"}),
    (NAME, ["10.0.0.9"], {"hearth.local", "10.0.0.9"}),
])
def test_a_new_name_or_address_reissues(certs: BoxCertificates, folder: Path, name: str,
                                        addresses: list[str], covered: set[str]) -> None:
    """Renaming the box or a new home address gets a new certificate, from the same CA."""
    fingerprint = certs.ca_fingerprint()
    assert certs.ensure(name, addresses)
    assert sans(server_cert(folder)) == covered
    assert certs.ca_fingerprint() == fingerprint


def test_a_damaged_server_key_is_replaced(certs: BoxCertificates, folder: Path) -> None:
    """The server key is the box's alone: when unreadable it is re-issued, with a warning."""
    fingerprint = certs.ca_fingerprint()
    (folder / "server.key").write_bytes(b"not a key")
    assert certs.ensure(NAME, ADDRESSES)
    assert certs.ca_fingerprint() == fingerprint
    certs.ssl_context()


def replace_with_other_key(path: Path) -> None:
    """Put a valid key in path that is not the CA's."""
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@pytest.mark.parametrize("damage", [
    lambda folder: (folder / "ca.key").write_bytes(b"garbage"),
    lambda folder: (folder / "ca.key").unlink(),
    lambda folder: replace_with_other_key(folder / "ca.key"),
    lambda folder: (folder / "ca.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA"),
], ids=["garbage-key", "missing-key", "other-key", "garbage-cert"])
def test_a_damaged_ca_is_never_replaced_silently(certs: BoxCertificates, folder: Path,
                                                 damage: object) -> None:
    """A CA devices trust is not swapped for a new one: ensure() says what to do instead."""
    damage(folder)  # type: ignore[operator]
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with pytest.raises(TlsError, match="certificate authority is damaged.*move that folder away"):
        certs.ensure(NAME, ADDRESSES)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_a_ca_key_without_its_certificate_is_a_fresh_start(certs: BoxCertificates,
                                                           folder: Path) -> None:
    """A crash between writing the CA key and its cert: the unseen CA is made anew."""
    fingerprint = certs.ca_fingerprint()
    (folder / "ca.pem").unlink()
    with pytest.raises(TlsError, match="no CA yet"):
        certs.ca_fingerprint()
    assert certs.ensure(NAME, ADDRESSES)
    assert certs.ca_fingerprint() != fingerprint
    assert openssl("verify", "-CAfile", folder / "ca.pem", folder / "server.pem").returncode == 0


def test_a_failed_write_leaves_the_old_certificate_in_place(certs: BoxCertificates,
                                                            folder: Path) -> None:
    """When a rename fails half-way through a renewal, the box still serves the old pair."""
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    (folder / ".server.key.tmp").write_bytes(b"left over by a crash")

    def replace(source: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    broken = BoxCertificates(folder, FileOps(replace=replace))
    with pytest.raises(OSError, match="No space"):
        broken.ensure("attic", ADDRESSES)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    broken.ssl_context()


def test_a_clock_that_is_not_set_issues_nothing(folder: Path) -> None:
    """A Pi that booted without the time does not make a CA that expired long ago."""
    with pytest.raises(TlsError, match="the clock says 1970"):
        BoxCertificates(folder).ensure(NAME, ADDRESSES, now=datetime(1970, 1, 1, tzinfo=timezone.utc))
    assert not folder.exists()


@pytest.mark.parametrize("name", ["hearth.local", "", "my box", "-hearth", "a" * 64])
def test_a_name_that_is_not_a_host_label_is_refused(folder: Path, name: str) -> None:
    """ensure() takes the bare box name and says so."""
    with pytest.raises(ValueError, match="can.t be the box.s network name"):
        BoxCertificates(folder).ensure(name, ADDRESSES)


def test_nothing_is_served_before_the_first_issue(folder: Path) -> None:
    """Without ensure(), the box has no CA to download and no context to serve."""
    certs = BoxCertificates(folder)
    with pytest.raises(TlsError, match="call ensure"):
        certs.ssl_context()
    with pytest.raises(TlsError, match="call ensure"):
        certs.ca_certificate_pem()


async def test_a_renewed_certificate_is_served_without_restarting(
        certs: BoxCertificates, folder: Path, https: tuple[int, LiveContext]) -> None:
    """After swap(), new connections get the new certificate from the same listening site."""
    port, live = https
    first, _ = await handshake(port, trusting(folder))
    assert await asyncio.to_thread(certs.ensure, NAME, [*ADDRESSES, "10.0.0.9"])
    live.swap(await asyncio.to_thread(certs.ssl_context))
    second, _ = await handshake(port, trusting(folder))
    assert first.serial_number != second.serial_number
    assert second == server_cert(folder)


async def run_renewals(certs: BoxCertificates, name_fn: Callable[[], str],
                       on_change: Callable[[], Awaitable[None] | None],
                       done: asyncio.Event) -> None:
    """Run renew_loop (checks hourly, retries at once) until `done` is set."""
    async def ensure(name: str, addresses: Sequence[str]) -> bool:
        return await asyncio.to_thread(certs.ensure, name, addresses)
    task = asyncio.create_task(renew_loop(ensure, name_fn, lambda: ADDRESSES, on_change,
                                          every=3600, retry=0.01))
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_renew_loop_reissues_and_reports_once_per_failure(
        certs: BoxCertificates, folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The loop checks at once, retries after errors, logs each outage once, reports re-issues."""
    caplog.set_level(logging.INFO, logger="appliance.platform.certs")
    names = iter(["bad name"] * 3 + ["attic"])
    changed = asyncio.Event()
    await run_renewals(certs, lambda: next(names, "attic"), changed.set, changed)
    assert "attic.local" in sans(server_cert(folder))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "network name" in errors[0].getMessage()
    assert "in order again" in caplog.text


async def test_renew_loop_retries_a_failed_reload(certs: BoxCertificates) -> None:
    """When on_change() fails, it is called again: the new certificate must get served."""
    calls: list[int] = []
    served = asyncio.Event()

    async def reload() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise TlsError("could not load")
        served.set()

    await run_renewals(certs, lambda: "attic", reload, served)
    assert len(calls) == 2
