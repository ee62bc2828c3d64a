"""The box's own certificate authority and server certificate, for HTTPS on the home network."""
from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import ssl
import stat
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.platform.certs import (CA_CERT, SERVER_CERT, SERVER_KEY, CertError, CertFiles,
                                      fingerprint)
from appliance.platform.network import host_label
from appliance.durable import FileOps

logger = logging.getLogger(__name__)

HostAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

CA_KEY = "ca.key"

# What the CA may ever vouch for: mDNS names and addresses that only mean something at home.
PERMITTED_DNS = "local"
PERMITTED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",  # RFC 1918, link-local
    "fc00::/7", "fe80::/10",  # IPv6 unique local, link-local
))
CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=397)  # browsers refuse server certificates valid longer
RENEW_BEFORE = timedelta(days=30)
BACKDATE = timedelta(days=1)  # a device whose clock is a little behind still accepts a new cert
# A Pi has no real-time clock: before NTP answers it may believe it is 1970, and a CA
# issued then would be expired for every device. Refuse to issue on such a clock.
EARLIEST_CLOCK = datetime(2025, 1, 1, tzinfo=timezone.utc)



class TlsError(Exception):
    """The box's TLS material is missing, damaged or cannot be issued; the message says what to do."""


@dataclass(frozen=True)
class Authority:
    """The box's CA: its key and its certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


class BoxCertificates:
    """The CA and server certificate kept in one folder on the system disk.

    Every method reads or writes files and does crypto: it blocks, so the daemon
    calls it through asyncio.to_thread. Nothing happens at construction.
    """

    def __init__(self, folder: Path, ops: FileOps | None = None) -> None:
        self.folder = folder
        self._ops = ops or FileOps()
        self._lock = threading.Lock()

    def ensure(self, name: str, addresses: Sequence[str], *, now: datetime | None = None) -> bool:
        """Create the CA if there is none and (re)issue the server cert if needed; blocking.

        The server certificate is re-issued when it is missing or unreadable, expires
        within 30 days, or does not cover `<name>.local` and every address of
        `addresses` that the CA may vouch for. Return whether it changed.
        """
        now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        if now < EARLIEST_CLOCK:
            raise TlsError(f"the clock says {now:%Y-%m-%d}; certificates are issued once the "
                           "box has the right time (check that it can reach a time server)")
        label = host_label(name)
        hostname = f"{label}.{PERMITTED_DNS}"
        ips = covered_addresses(addresses)
        with self._lock:
            self._prepare_folder()
            authority = self._authority(label, now)
            reason = self._stale(authority, hostname, ips, now)
            if reason is None:
                return False
            logger.info("issuing a certificate for %s: %s", hostname, reason)
            key = ec.generate_private_key(ec.SECP256R1())
            cert = server_certificate(authority, key, hostname, ips, now)
            if validity(cert)[1] == validity(authority.cert)[1]:
                logger.warning("the box's CA expires on %s; before then, make a new one and "
                               "trust it on every device (see docs/https.md)",
                               f"{validity(authority.cert)[1]:%Y-%m-%d}")
            self._write(SERVER_KEY, _key_pem(key), 0o600)
            self._write(SERVER_CERT, _cert_pem(cert) + _cert_pem(authority.cert), 0o644)
            return True

    def ssl_context(self) -> ssl.SSLContext:
        """Return a server SSLContext (TLS 1.2 or later) with the cert and its chain; blocking."""
        with self._lock:
            try:
                return CertFiles(self.folder).ssl_context()
            except CertError as error:
                raise TlsError(str(error)) from error

    def ca_certificate_pem(self) -> bytes:
        """Return the CA certificate that households install, as PEM; blocking."""
        return _cert_pem(self._ca_cert())

    def ca_fingerprint(self) -> str:
        """Return the SHA-256 fingerprint of the CA certificate, as colon-separated hex; blocking."""
        return fingerprint(self.ca_certificate_pem())

    def _ca_cert(self) -> x509.Certificate:
        path = self.folder / CA_CERT
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except FileNotFoundError as error:
            raise TlsError(f"the box has no CA yet ({path} is missing); call ensure() first"
                           ) from error
        except ValueError as error:
            raise _damaged_ca(path, error) from error

    def _prepare_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(self.folder.stat().st_mode) != 0o700:
            os.chmod(self.folder, 0o700)

    def _authority(self, name: str, now: datetime) -> Authority:
        """Load the CA, or create it when its certificate was never written."""
        if not (self.folder / CA_CERT).exists():
            # Nobody can trust a CA certificate that was never written: a key left
            # without one (a crash between the two writes) is simply replaced.
            key = ec.generate_private_key(ec.SECP256R1())
            authority = Authority(key, ca_certificate(key, name, now))
            self._write(CA_KEY, _key_pem(key), 0o600)
            self._write(CA_CERT, _cert_pem(authority.cert), 0o644)
            logger.info("created the box's certificate authority in %s", self.folder)
            return authority
        cert = self._ca_cert()
        path = self.folder / CA_KEY
        try:
            key = _load_key(path)
        except (OSError, ValueError) as error:
            raise _damaged_ca(path, error) from error
        if not _same_key(key, cert):
            raise _damaged_ca(path, ValueError(f"it does not match {CA_CERT}"))
        if validity(cert)[1] < now + RENEW_BEFORE:
            raise TlsError(f"the box's CA in {self.folder} expires on "
                           f"{validity(cert)[1]:%Y-%m-%d}; move that folder away to make a "
                           "new CA, then trust the new one on every device")
        return Authority(key, cert)

    def _stale(self, authority: Authority, hostname: str, ips: Sequence[HostAddress],
               now: datetime) -> str | None:
        """Return why the server certificate must be re-issued, or None when it is fine."""
        try:
            cert = x509.load_pem_x509_certificate((self.folder / SERVER_CERT).read_bytes())
            key = _load_key(self.folder / SERVER_KEY)
        except FileNotFoundError:
            return "there is none yet"
        except ValueError as error:  # the server key is ours alone: replace it, no one pins it
            logger.warning("the server certificate or key in %s is unreadable (%s); "
                           "issuing a new one", self.folder, error)
            return "the old one is unreadable"
        if not _same_key(key, cert):
            return "its key does not match"
        if not _signed_by(cert, authority.cert):
            return "it was not issued by this box's CA"
        not_before, not_after = validity(cert)
        if now < not_before:
            return f"it is valid only from {not_before:%Y-%m-%d}"
        if not_after < now + RENEW_BEFORE:
            return f"it expires on {not_after:%Y-%m-%d}"
        names, cert_ips = _sans(cert)
        missing = [hostname] * (hostname not in names) + [str(ip) for ip in ips
                                                          if ip not in cert_ips]
        return f"it does not cover {', '.join(missing)}" if missing else None

    def _write(self, name: str, data: bytes, mode: int) -> None:
        """Replace a file atomically and durably; a key is never readable by others, even briefly."""
        self._ops.atomic_write(self.folder / name, data, mode=mode)


def ca_certificate(key: ec.EllipticCurvePrivateKey, name: str, now: datetime) -> x509.Certificate:
    """Return a self-signed CA certificate allowed to vouch only for home names and addresses."""
    public = key.public_key()
    key_id = x509.SubjectKeyIdentifier.from_public_key(public)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"Hearth {name[:40]} local CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hearth"),
        # Two boxes called alike (or a box reset) must not make CAs with the same name.
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"box {key_id.digest.hex()[:12]}"),
    ])
    permitted: list[x509.GeneralName] = [x509.DNSName(PERMITTED_DNS)]
    permitted += [x509.IPAddress(network) for network in PERMITTED_NETWORKS]
    builder = (
        _builder(subject, subject, public, now - BACKDATE, now - BACKDATE + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted,
                                            excluded_subtrees=None), critical=True)
        # Verifiers that chain EKUs then accept this CA for web servers and nothing else.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(key_id, critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def server_certificate(authority: Authority, key: ec.EllipticCurvePrivateKey, hostname: str,
                       ips: Iterable[HostAddress], now: datetime) -> x509.Certificate:
    """Return a server certificate for `hostname` and `ips`, signed by the CA."""
    sans: list[x509.GeneralName] = [x509.DNSName(hostname)]
    sans += [x509.IPAddress(ip) for ip in ips]
    not_after = min(now - BACKDATE + SERVER_LIFETIME, validity(authority.cert)[1])
    ca_key_id = authority.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]
                        if len(hostname) <= 64 else [])
    builder = (
        _builder(authority.cert.subject, subject, key.public_key(), now - BACKDATE, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=not subject)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_key_id.value), critical=False)
    )
    return builder.sign(authority.key, hashes.SHA256())


def covered_addresses(addresses: Iterable[str]) -> list[HostAddress]:
    """Return the addresses the CA may vouch for (private or link-local), sorted, without zones."""
    covered: set[HostAddress] = set()
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if any(ip in network for network in PERMITTED_NETWORKS):
            covered.add(ip)
        else:
            logger.debug("leaving %s out of the certificate: the CA covers only home addresses",
                         ip)
    return sorted(covered, key=lambda ip: (ip.version, int(ip)))


def _builder(issuer: x509.Name, subject: x509.Name, public: ec.EllipticCurvePublicKey,
             not_before: datetime, not_after: datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().issuer_name(issuer).subject_name(subject)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after))


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False,
                         decipher_only=False)


def validity(cert: x509.Certificate) -> tuple[datetime, datetime]:
    """Return a cert's (not before, not after) as aware UTC datetimes, on cryptography 38 and 42+."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return (cert.not_valid_before.replace(tzinfo=timezone.utc),
            cert.not_valid_after.replace(tzinfo=timezone.utc))


def _sans(cert: x509.Certificate) -> tuple[list[str], list[HostAddress]]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    ips = [ip for ip in sans.get_values_for_type(x509.IPAddress)
           if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address))]
    return sans.get_values_for_type(x509.DNSName), ips


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    public, algorithm = issuer.public_key(), cert.signature_hash_algorithm
    if not isinstance(public, ec.EllipticCurvePublicKey) or algorithm is None:
        return False
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    except InvalidSignature:
        return False
    return cert.issuer == issuer.subject


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name} holds a {type(key).__name__}, not an EC key")
    return key


def _same_key(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bool:
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _damaged_ca(path: Path, error: Exception) -> TlsError:
    return TlsError(
        f"the box's certificate authority is damaged: {path} cannot be used ({error}). "
        f"Restore {path.parent} from a backup; or, to start over, move that folder away "
        "and restart Hearth, then trust the new CA on every device again"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Issue or renew the certificates in a folder; print whether they changed (a child process)."""
    parser = argparse.ArgumentParser(prog="python -m appliance.platform.tls",
                                     description="Issue or renew the box's certificates.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--address", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        changed = BoxCertificates(args.folder).ensure(args.name, args.address)
    except (TlsError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps({"changed": changed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
