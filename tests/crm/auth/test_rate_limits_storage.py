"""``DatabaseStorage``: rate-limit counters in the app's database, on this run's database kind
(SQLite file or PostgreSQL). Time is a hand-moved clock wherever a window has to end; the
tests that use the database server's clock compare two of its windows, never a wall clock."""
from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import func, select, text

from crm.extensions import db
from crm.ratelimits.models import RateLimitCounter
from crm.ratelimits.storage import DatabaseStorage, counter_engine


class HandClock:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(app):
    engine = counter_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


@pytest.fixture
def hand_clock():
    """The counters' own clock, moved by hand (the app's clock does not time rate limits)."""
    return HandClock()


@pytest.fixture
def storage(engine, hand_clock):
    return DatabaseStorage(engine=engine, clock=hand_clock)


def rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(RateLimitCounter))


def test_hits_count_up_within_a_window_and_start_again_after_it(storage, hand_clock):
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3
    assert storage.get_expiry("k") == hand_clock.now + 60  # the window started at the first hit
    hand_clock.now += 59.5
    assert storage.incr("k", 60) == 4
    hand_clock.now += 0.5  # the window's end: over
    assert storage.get("k") == 0
    assert storage.get_expiry("k") == hand_clock.now  # no window: "now"
    assert storage.incr("k", 60, amount=2) == 2  # a new window, from this hit
    assert storage.get_expiry("k") == hand_clock.now + 60


def test_keys_count_apart_and_clear_and_reset(storage):
    storage.incr("a", 60)
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 1)
    assert storage.reset() == 1
    assert storage.get("b") == 0 and rows() == 0


def test_concurrent_hits_each_get_their_own_count(engine):
    """The upsert is atomic: 8 threads hitting one key 25 times each get back every count from
    1 to 200 exactly once (a read-then-write would hand two threads the same count)."""
    storage = DatabaseStorage(engine=engine)  # the database server's clock, as in production
    seen, errors = [], []
    start = threading.Barrier(8)

    def hit():
        try:
            start.wait(timeout=30)
            for _ in range(25):
                seen.append(storage.incr("shared", 3600))
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert sorted(seen) == list(range(1, 201))
    assert storage.get("shared") == 200


def test_the_database_clock_measures_each_window_from_its_first_hit(engine):
    storage = DatabaseStorage(engine=engine)
    storage.incr("minute", 60)
    storage.incr("hour", 3600)
    assert storage.get("minute") == storage.get("hour") == 1
    # Both started within this test, so they end about 3540 s apart.
    assert abs(storage.get_expiry("hour") - storage.get_expiry("minute") - 3540) < 5


def test_a_fixed_window_limit_over_the_storage(storage, hand_clock):
    limiter = FixedWindowRateLimiter(storage)
    ten = parse("10 per minute")
    assert [limiter.hit(ten, "login", "alice") for _ in range(12)] == [True] * 10 + [False] * 2
    assert limiter.hit(ten, "login", "bob")  # another identity, another count
    hand_clock.now += 60
    assert limiter.hit(ten, "login", "alice")


def test_ended_windows_are_swept_every_few_hits(engine, hand_clock):
    storage = DatabaseStorage(engine=engine, clock=hand_clock, sweep_every=4)
    storage.incr("old-1", 10)
    storage.incr("old-2", 10)
    storage.incr("long", 3600)
    hand_clock.now += 10
    assert rows() == 3
    storage.incr("new", 60)  # the 4th hit of this storage sweeps
    assert rows() == 2
    assert (storage.get("long"), storage.get("new")) == (1, 1)
    assert storage.sweep() == 0


def test_keys_are_stored_hashed_whatever_their_length(storage):
    typed = "x" * 100_000 + "@example.com"
    assert storage.incr("LIMITER/login-account:" + typed, 60) == 1
    db.session.rollback()
    key_hash = db.session.scalar(select(RateLimitCounter.key_hash))
    assert len(key_hash) == 64 and "example" not in key_hash


def test_the_uri_crm_database_builds_one(app):
    storage = storage_from_string("crm-database://")
    assert isinstance(storage, DatabaseStorage)
    storage.incr("via-app", 60)  # inside the app context: the app's own database
    assert storage.get("via-app") == 1
    assert storage.check()


def test_a_hit_is_counted_on_a_connection_of_its_own(app, storage):
    """The request's session rolling back does not take the hit with it."""
    db.session.execute(select(1))
    storage.incr("k", 60)
    db.session.rollback()
    assert storage.get("k") == 1


def test_a_connection_that_died_in_the_pool_is_replaced(app, engine, storage):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: its server can end a connection from outside")
    storage.incr("k", 60)
    with engine.connect() as connection:  # the pooled connection the next hit will take
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    assert db.session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()
    assert storage.incr("k", 60) == 2
