"""The connector's side of a run: the Context it gets, writing JSON lines to the daemon."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from appliance.jobs import protocol
from appliance.jobs.connector import CHALLENGE_ASKED, ConnectorError
from appliance.jobs.dedup import key_id, record_id
from appliance.jobs.manifest import Manifest


class Channel:
    """The line-by-line pipe to the daemon (a private copy of stdout)."""

    def __init__(self, fd: int, answers: BinaryIO) -> None:
        self._fd, self._answers = fd, answers
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        """Write one message; block while the daemon is busy (that is the back-pressure)."""
        data = protocol.encode(message)
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]

    def receive(self) -> dict[str, Any]:
        """Return the next message from the daemon (blocking)."""
        line = self._answers.readline()
        if not line:
            raise ConnectorError(CHALLENGE_ASKED, "the box stopped listening for the answer")
        message: dict[str, Any] = json.loads(line)
        return message


class _ChannelHandler(logging.Handler):
    def __init__(self, channel: Channel) -> None:
        super().__init__(logging.INFO)
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelname.lower()
        self._channel.send({"type": "log", "level": level if level in protocol.LEVELS else "error",
                            "message": protocol.clip(self.format(record))})


@dataclass(frozen=True)
class GrantedFile:
    """A Drive file the daemon opened for this run."""

    path: str
    size: int
    fd: int

    def open(self) -> BinaryIO:
        """Return the file opened for reading, from its start."""
        fh = os.fdopen(os.dup(self.fd), "rb")
        fh.seek(0)
        return fh


class RunContext:
    """The Context handed to `fetch`: fields, inputs, and the ways to send data home."""

    def __init__(self, manifest: Manifest, channel: Channel, start: dict[str, Any],
                 fields: Mapping[str, str], session: dict[str, Any] | None,
                 seal: Any) -> None:
        self.manifest = manifest
        self.account_id: str = start["account"]
        self.fields: Mapping[str, str] = dict(fields)
        self.session = session
        self.interactive = bool(start.get("interactive"))
        system = start.get("system")
        self.system_dir: Path | None = Path(system) if system else None
        self._inputs = {name: [GrantedFile(i["path"], i["size"], i["fd"]) for i in items]
                        for name, items in (start.get("inputs") or {}).items()}
        self._channel, self._seal = channel, seal
        self._questions = 0
        self.logger = logging.getLogger(f"hearth.connector.{manifest.slug}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.logger.addHandler(_ChannelHandler(channel))

    def inputs(self, field_name: str) -> list[GrantedFile]:
        """Return the Drive files a `drive_path` field names."""
        if self.manifest.field(field_name).type != "drive_path":
            raise ValueError(f"{field_name} is not a drive_path field")
        return list(self._inputs.get(field_name, []))

    def ref(self, doctype: str, **keys: Any) -> str:
        """Return the id the record of `doctype` with these dedup keys has, or will have."""
        rule = self.manifest.doctypes[doctype]
        if set(keys) != set(rule.keys):
            raise ValueError(f"{doctype} is deduplicated by {', '.join(rule.keys)}")
        return key_id(self.manifest.slug, doctype, [keys[k] for k in rule.keys])

    def save(self, doctype: str, record: Mapping[str, Any]) -> str:
        """Send a record; return its id."""
        rule = self.manifest.doctypes.get(doctype)
        if rule is None:
            raise ValueError(f"{doctype} is not among the doctypes the manifest declares")
        doc_id = record_id(self.manifest.slug, doctype, rule, record)
        self._channel.send({"type": "record", "doctype": doctype, "data": dict(record)})
        return doc_id

    async def save_file(self, name: str, content: bytes | Iterable[bytes] | AsyncIterable[bytes],
                        *, folder: str = "", key: str | None = None) -> None:
        """Send a file for the Drive, in base64 chunks, then its size and checksum."""
        header: dict[str, Any] = {"type": "file", "name": name, "folder": folder, "key": key}
        if isinstance(content, bytes):
            header["sha256"] = hashlib.sha256(content).hexdigest()
            content = [content]
        self._channel.send(header)
        digest, size = hashlib.sha256(), 0
        async for block in _blocks(content):
            for start in range(0, len(block), protocol.CHUNK):
                piece = block[start:start + protocol.CHUNK]
                digest.update(piece)
                size += len(piece)
                self._channel.send({"type": "chunk", "data": base64.b64encode(piece).decode()})
        self._channel.send({"type": "file_end", "sha256": digest.hexdigest(), "size": size})

    async def ask(self, prompt: str, *, kind: str = "code") -> str:
        """Ask the owner a question and wait for the answer (only in a run they watch)."""
        if not self.interactive:
            raise ConnectorError(CHALLENGE_ASKED, f"the vendor asks: {prompt} — run the "
                                                  f"account from its page to answer")
        self._questions += 1
        qid = f"q{self._questions}"
        self._channel.send({"type": "question", "id": qid, "prompt": prompt, "kind": kind})
        answer = await asyncio.to_thread(self._channel.receive)
        if answer.get("id") != qid or not isinstance(answer.get("value"), str):
            raise ConnectorError(CHALLENGE_ASKED, "the question was not answered")
        return str(answer["value"])

    def save_session(self, session: dict[str, Any] | None) -> None:
        """Keep a session sealed for the next run (None forgets it)."""
        sealed = None if session is None else self._seal(json.dumps(session).encode())
        self.session = session
        self._channel.send({"type": "session", "sealed": sealed})


async def _blocks(content: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(content, AsyncIterable):
        async for block in content:
            yield bytes(block)
    else:
        for block in content:
            yield bytes(block)

