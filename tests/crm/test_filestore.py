"""The kernel rule every upload follows (crm/filestore.py): a file is on disk under its key
exactly when the row naming it is committed; nothing half-written is ever left behind."""
from __future__ import annotations

import io

import pytest

from crm import filestore
from crm.extensions import db


class TooLarge(Exception):
    pass


@pytest.fixture
def stores(app, tmp_path):
    saved = {key: app.config.get(key) for key in ("FILESTORE_TEST_A", "FILESTORE_TEST_B")}
    app.config["FILESTORE_TEST_A"] = str(tmp_path / "a")
    app.config["FILESTORE_TEST_B"] = str(tmp_path / "b")
    filestore.init()
    yield filestore.FileStore("test-a", "FILESTORE_TEST_A", "a"), filestore.FileStore("test-b", "FILESTORE_TEST_B", "b")
    app.config.update(saved)


def leftovers(store) -> list[str]:
    return sorted(path.name for path in store.directory().iterdir()) if store.directory().exists() else []


def kept(store, data: bytes, key: str):
    with store.receive(io.BytesIO(data), 100, TooLarge) as received:
        store.keep(received, key)
    return received


def test_a_kept_upload_appears_under_its_key_only_when_the_transaction_commits(stores):
    a, b = stores
    received = kept(a, b"hello", "one.bin")
    kept(b, b"world", "two.bin")
    assert received.byte_size == 5
    assert received.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    a.register_pending(db.session(), "one.bin")
    b.register_pending(db.session(), "two.bin")
    assert leftovers(a) == [".one.bin.part"]
    db.session.commit()
    assert leftovers(a) == ["one.bin"] and leftovers(b) == ["two.bin"]
    assert (a.directory() / "one.bin").read_bytes() == b"hello"


def test_a_rollback_removes_the_pending_files_of_every_store(stores):
    a, b = stores
    kept(a, b"hello", "one.bin")
    kept(b, b"world", "two.bin")
    a.register_pending(db.session(), "one.bin")
    b.register_pending(db.session(), "two.bin")
    db.session.rollback()
    assert leftovers(a) == [] and leftovers(b) == []


def test_too_large_or_refused_uploads_leave_nothing_on_disk(stores):
    a, _b = stores
    with pytest.raises(TooLarge):
        with a.receive(io.BytesIO(b"x" * 101), 100, TooLarge):
            pass
    with pytest.raises(ValueError):
        with a.receive(io.BytesIO(b"not what it claims"), 100, TooLarge):
            raise ValueError("content check failed")
    with a.receive(io.BytesIO(b"checked but never kept"), 100, TooLarge):
        pass
    assert leftovers(a) == []


def test_settle_finishes_a_rename_a_dead_process_left_and_refuses_paths(stores):
    a, _b = stores
    kept(a, b"hello", "one.bin")  # committed elsewhere, but the process died before the rename
    assert a.settle("one.bin") == a.directory() / "one.bin"
    assert leftovers(a) == ["one.bin"]
    assert a.settle("one.bin") == a.directory() / "one.bin"  # already there
    assert a.settle("missing.bin") is None
    for bad in ("../one.bin", ".one.bin.part", "sub/one.bin", "", None):
        assert a.settle(bad) is None
    a.discard("one.bin")
    assert leftovers(a) == []


def test_a_savepoint_rolled_back_keeps_the_files_registered_before_it(stores):
    a, _b = stores
    kept(a, b"hello", "one.bin")
    a.register_pending(db.session(), "one.bin")
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    db.session.commit()
    assert leftovers(a) == ["one.bin"]
