"""Signed updates: the box takes a wheel only with an Ed25519 signature from a key it trusts."""
from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.updater.errors import UpdateError
from appliance.updater.versions import WHEEL_NAME

KEYS = Path("/etc/hearth/update-keys")


def verify(wheel: Path, signature: Path, keys: Path) -> None:
    """Check that one of the box's update keys signed the wheel (Ed25519, raw signature)."""
    if not WHEEL_NAME.match(wheel.name):
        raise UpdateError(f"{wheel.name} is not a Hearth wheel (hearthbox-VERSION-py3-none-any.whl)")
    if not signature.exists():
        raise UpdateError(f"no signature next to the update: {signature} is missing")
    pems = sorted(keys.glob("*.pem")) if keys.is_dir() else []
    if not pems:
        raise UpdateError(f"this box has no update key in {keys}: it accepts no update")
    data, sig = wheel.read_bytes(), signature.read_bytes()
    for pem in pems:
        key = serialization.load_pem_public_key(pem.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            continue
        try:
            key.verify(sig, data)
            return
        except InvalidSignature:
            continue
    raise UpdateError(f"{wheel.name} is not signed by a key this box trusts; nothing was changed")


def sign(wheel: Path, private_key: Path) -> Path:
    """Sign a wheel with an Ed25519 private key (PEM); return the signature's path."""
    key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateError(f"{private_key} is not an Ed25519 private key")
    signature = wheel.with_name(wheel.name + ".sig")
    signature.write_bytes(key.sign(wheel.read_bytes()))
    return signature


def new_key(private_key: Path, public_key: Path) -> None:
    """Write a new Ed25519 key pair: the private one for the signer, the public one for images."""
    key = Ed25519PrivateKey.generate()
    private_key.touch(mode=0o600)
    private_key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    public_key.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
