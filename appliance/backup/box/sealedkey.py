"""The recovery key, sealed with the system keyring so scheduled backups need nobody."""
from __future__ import annotations

from pathlib import Path

from appliance.keyring import Keyring, seal, unseal

SEAL_OWNER = "io.hearth.backup"


def seal_key(system: Path, repo_id: str, key: str) -> str:
    """Return the recovery key of a repository sealed with the system keyring (blocking)."""
    owner = f"{SEAL_OWNER}/{repo_id}"
    return seal(Keyring(system).key_for(owner), owner, key.encode())


def unseal_key(system: Path, repo_id: str, sealed: str) -> str:
    """Return the recovery key of a repository, unsealed (blocking)."""
    owner = f"{SEAL_OWNER}/{repo_id}"
    return unseal(Keyring(system).key_for(owner), owner, sealed).decode()
