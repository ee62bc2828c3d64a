"""Over HTTPS the cookies are marked Secure."""
from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.app import create_app
from appliance.platform import Platform
from appliance.platform.disks import FakeDisks
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.conftest import PASSPHRASE, csrf_of


def _server_context(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hearth.local")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


async def test_cookies_are_secure_over_https(settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings, platform=Platform(notifier=NullNotifier(), disks=FakeDisks()), services=())
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_server_context(tmp_path))
    await site.start()
    port = runner.addresses[0][1]
    base = f"https://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         connector=aiohttp.TCPConnector(ssl=False)) as http:
            page = await http.get(base + "/welcome")
            anon = next(c for c in page.headers.getall("Set-Cookie") if "hearth_csrf=" in c)
            assert "Secure" in anon and "HttpOnly" in anon
            resp = await http.post(base + "/welcome", allow_redirects=False, data={
                "_csrf": csrf_of(await page.text()), "passphrase": PASSPHRASE,
                "passphrase2": PASSPHRASE, "name": "maison", "language": "en"},
                headers={"Origin": base})
            assert resp.status == 303
            cookie = next(c for c in resp.headers.getall("Set-Cookie")
                          if "hearth_session=" in c)
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        await runner.cleanup()
