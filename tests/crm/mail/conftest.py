"""The inbound classifier is a pure library: these tests need no app and no database.

Overriding the suite-wide autouse ``_app_context`` fixture here skips emptying every table
after each of the few hundred parametrised cases (a TRUNCATE per test on PostgreSQL).
"""
import pytest


@pytest.fixture(autouse=True)
def _app_context():
    yield
