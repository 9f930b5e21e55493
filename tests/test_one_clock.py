"""Every "now" in the app comes from one clock (``crm.timeutil.utcnow``): no module asks the
system clock by itself, so freezing ``CLOCK`` in a test freezes the whole app, and a test
that passes today passes on any day."""
from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crm.timeutil import CLOCK, Clock, utcnow
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parent.parent
APP_CODE = [*(ROOT / "crm").rglob("*.py"), *(ROOT / "planning_bridge").rglob("*.py"), ROOT / "wsgi.py",
            ROOT / "config.py"]

# Where reading the system clock is the point, with the reason.
ALLOWED = {
    ("crm/timeutil.py", "datetime.now"): "the one clock itself",
    ("crm/extensions.py", "time.time"): "rate-limit windows measure real elapsed time, as Flask-Limiter's own storage",
}
WALL_CLOCK_CALLS = {"datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time",
                    "time.time_ns", "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.date.today",
                    "email.utils.formatdate", "formatdate", "localtime", "time.localtime", "time.gmtime"}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def wall_clock_reads(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            # formatdate()/localtime() read the clock only without arguments
            if name in WALL_CLOCK_CALLS and not (name.endswith(("formatdate", "localtime", "gmtime")) and node.args):
                found.append((name, node.lineno))
    return found


def test_no_module_reads_the_system_clock_but_the_clock():
    offenders = []
    for path in APP_CODE:
        relative = path.relative_to(ROOT).as_posix()
        for name, line in wall_clock_reads(path):
            if (relative, name) not in ALLOWED:
                offenders.append(f"{relative}:{line}: {name}() (use crm.timeutil.utcnow)")
    assert offenders == []


def test_the_scan_finds_a_wall_clock_read(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import datetime\nfrom datetime import date\n"
                      "a = datetime.datetime.now()\nb = date.today()\nc = time.time()\n")
    assert wall_clock_reads(sample) == [("datetime.datetime.now", 3), ("date.today", 4), ("time.time", 5)]


def test_the_suite_runs_on_the_frozen_clock(clock):
    assert utcnow() == NOW and CLOCK.is_frozen
    clock.advance(timedelta(minutes=5))
    assert utcnow() == NOW + timedelta(minutes=5)


def test_a_frozen_clock_is_seen_by_other_threads(clock):
    import threading

    seen = []
    worker = threading.Thread(target=lambda: seen.append(utcnow()))
    worker.start()
    worker.join()
    assert seen == [NOW]


def test_the_clock_follows_the_system_clock_until_frozen():
    own = Clock()
    before = datetime.now(timezone.utc)
    read = own.now()
    assert before <= read <= datetime.now(timezone.utc) and not own.is_frozen
    with pytest.raises(RuntimeError):
        own.advance(timedelta(seconds=1))
    with pytest.raises(ValueError):
        own.freeze(datetime(2026, 3, 10, 14, 30))  # naive: which zone?
    moment = own.freeze(datetime(2026, 3, 10, 15, 30, tzinfo=timezone(timedelta(hours=1))))
    assert moment == NOW and moment.tzinfo == timezone.utc and own.now() == NOW
    own.unfreeze()
    assert own.now() >= read


def test_model_defaults_read_the_clock(make_user, clock):
    clock.freeze(NOW + timedelta(days=41))
    user = make_user()
    assert user.created_at == NOW + timedelta(days=41)
