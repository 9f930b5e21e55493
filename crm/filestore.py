"""Uploaded files that follow their transaction: a file is on disk under its key exactly when
the row naming it is committed. Shared by every feature that stores uploads (call recordings,
documents and videos), so that rule lives in one place.

How an upload gets there whole or not at all:

1. ``receive`` streams it to a hidden ``.upload-<random>.part`` file in the store's folder,
   counting bytes against a limit and hashing as it goes; the caller checks the content
   (decoding audio, opening a PDF, probing a video) inside the ``with`` block, and any
   exception removes the file;
2. ``keep`` renames it to ``.<key>.part`` once the content is known to be good;
3. ``register_pending`` ties the key to the session: on commit the ``.part`` is renamed to
   ``<key>``; on rollback it is removed (listeners added once per process by ``init``);
4. should the process die between the commit and the rename, ``settle`` (called by whoever
   reads the file next, the worker included) finishes the rename: the row is committed, so
   the file is wanted.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

CHUNK = 1024 * 1024
PENDING_KEY = "filestore.pending"

_STORES: dict[str, FileStore] = {}


@dataclass(frozen=True)
class Received:
    """A streamed upload, not yet checked: its temporary file, size and SHA-256."""

    temporary: Path
    byte_size: int
    sha256: str


@dataclass(frozen=True)
class FileStore:
    """One folder of uploaded files: ``config_key`` names the setting that places it, else it
    is ``<INSTANCE_DIR>/<default_folder>``. ``name`` identifies the store in a session's
    pending files."""

    name: str
    config_key: str
    default_folder: str

    def __post_init__(self) -> None:
        _STORES[self.name] = self

    def directory(self) -> Path:
        configured = current_app.config.get(self.config_key)
        if configured:
            return Path(configured)
        return Path(current_app.config.get("INSTANCE_DIR", "instance")) / self.default_folder

    def part_path(self, key: str) -> Path:
        return self.directory() / f".{key}.part"

    @contextmanager
    def receive(self, stream: IO[bytes], limit: int,
                too_large: Callable[[int], Exception]) -> Iterator[Received]:
        """Stream ``stream`` to a temporary file (``too_large(limit)`` is raised past ``limit``
        bytes) and yield it for checking; the file is removed if the block raises, or if it
        returns without ``keep``-ing it."""
        folder = self.directory()
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".upload-{secrets.token_hex(12)}.part"
        try:
            size, digest = _copy_limited(stream, temporary, limit, too_large)
            yield Received(temporary, size, digest)
        finally:
            temporary.unlink(missing_ok=True)

    def keep(self, received: Received, key: str) -> Path:
        """The checked upload, renamed to ``key``'s ``.part``: ready for ``register_pending``."""
        part = self.part_path(key)
        os.replace(received.temporary, part)
        return part

    def register_pending(self, session: Session, key: str) -> None:
        """Rename ``key``'s ``.part`` to ``key`` when ``session`` commits; remove it on rollback."""
        if not session.in_transaction():
            session.begin()  # a session with no transaction would end without either event
        session.info.setdefault(PENDING_KEY, []).append((self.name, key))

    def settle(self, key: str | None) -> Path | None:
        """The committed file of ``key`` (a plain name in the folder), finishing its rename if
        the uploading process stopped between the commit and the rename; None if neither exists."""
        if not key or "/" in key or "\\" in key or key.startswith("."):
            return None
        final = self.directory() / key
        if final.is_file():
            return final
        try:
            os.replace(self.part_path(key), final)
        except FileNotFoundError:
            return final if final.is_file() else None
        return final

    def discard(self, key: str | None) -> None:
        """Remove ``key``'s file and any ``.part`` of it."""
        if key and "/" not in key and "\\" not in key and not key.startswith("."):
            (self.directory() / key).unlink(missing_ok=True)
            self.part_path(key).unlink(missing_ok=True)


def _copy_limited(stream: IO[bytes], target: Path, limit: int,
                  too_large: Callable[[int], Exception]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _after_commit(session: Session) -> None:
    for name, key in session.info.pop(PENDING_KEY, []):
        _STORES[name].settle(key)


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    # Only the outermost transaction's end decides: a savepoint rolled back inside it does not
    # undo the rows (and files) registered before the savepoint.
    if previous.parent is not None:
        return
    for name, key in session.info.pop(PENDING_KEY, []):
        _STORES[name].part_path(key).unlink(missing_ok=True)


def init() -> None:
    """Add the commit/rollback listeners once per process (they act only on sessions with
    pending files); each storing feature calls it from its manifest ``setup``."""
    for name, listener in (("after_commit", _after_commit), ("after_soft_rollback", _after_rollback)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
