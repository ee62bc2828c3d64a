"""Schema migrations: upgrading every document of a collection from one version to the next."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from appliance.store.documents import Doc, build, check_fields, clone, next_rev
from appliance.store.errors import InvalidDocument, StoreError

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def check_declaration(doctype: str, version: int, migrations: Sequence[Migration]) -> None:
    """Raise ValueError unless there is exactly one migration per version step."""
    if not isinstance(version, int) or version < 0:
        raise ValueError(f"the version of {doctype} must be an integer >= 0, not {version!r}")
    if len(migrations) != version:
        raise ValueError(
            f"{doctype} is declared at version {version} with {len(migrations)} "
            "migration(s); give exactly one per step (migrations[i] upgrades a "
            "document from version i to i+1)"
        )


def migrate(
    docs: Mapping[str, Doc], stored: int, version: int,
    migrations: Sequence[Migration], doctype: str,
) -> list[Doc]:
    """Return every document upgraded from the stored version, with a new revision."""
    upgraded: list[Doc] = []
    for doc_id, doc in docs.items():
        current: Any = clone(doc)
        fields: Mapping[str, Any] = current
        for step in range(stored, version):
            try:
                current = migrations[step](current)
                fields = check_fields(current)
            except Exception as exc:
                raise _failed(doctype, step, doc_id, stored, exc) from exc
        try:
            new, _ = build(doc_id, next_rev(doc["_rev"]), fields)
        except InvalidDocument as exc:
            raise _failed(doctype, version - 1, doc_id, stored, exc) from exc
        upgraded.append(new)
    return upgraded


def _failed(doctype: str, step: int, doc_id: str, stored: int, exc: Exception) -> StoreError:
    return StoreError(
        f"migrating {doctype} from version {step} to {step + 1} failed on document "
        f"{doc_id!r}: {exc}. Nothing was changed on disk (the collection is still at "
        f"version {stored}); fix the migration and start again"
    )
