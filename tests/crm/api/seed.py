"""A small database with one record of each kind the API serves, for the Schemathesis run."""
from __future__ import annotations


def seed_every_kind_of_record(users: dict) -> None:
    pass
