"""Reading exported text: UTF-8 when it is, else Windows' cp1252 (most French banks)."""
from __future__ import annotations

from services.connectors.bank_statements.model import StatementError


def decode(data: bytes, name: str) -> str:
    """Return the text of an export, trying UTF-8 (with or without BOM), then cp1252."""
    if b"\x00" in data[:4096]:
        raise StatementError(f"{name} is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
