"""`flask db upgrade` builds exactly the schema the models describe, on this test run's
database kind (a fresh SQLite file, or a fresh PostgreSQL database beside the test one)."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, make_url, text

from config import TestConfig
from crm.app import create_app
from crm.extensions import db


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database: a new SQLite file, or on PostgreSQL a new schema first on the
    search_path (creating and dropping whole databases forces checkpoints: slow)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    url = make_url(TestConfig()._database_url(base))
    schema = f"crm_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_upgrade_matches_models_and_downgrades_cleanly(fresh_database_url, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", fresh_database_url)
    app = create_app(TestConfig())
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diffs == []
        downgrade(revision="base")
        with db.engine.connect() as conn:
            remaining = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def test_revision_ids_fit_alembic_version():
    """PostgreSQL's ``alembic_version.version_num`` is VARCHAR(32): a longer id fails the upgrade
    there while SQLite, which ignores lengths, passes."""
    import re
    from pathlib import Path

    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    revision = re.compile(r'^revision(?::[^=]*)? = ["\']([^"\']+)["\']', re.M)
    ids = {p.name: revision.search(p.read_text()).group(1) for p in versions.glob("*.py")}
    assert ids and {name: rid for name, rid in ids.items() if len(rid) > 32} == {}
