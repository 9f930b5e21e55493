"""The public face of the calls feature: what other features (and the pages, API, jobs and
demo of this one) call. The work lives in the submodules; this module re-exports it.

- time blocks (``crm.calls.blocks``): the rep's prospecting blocks, created and deleted, and
  ``busy_intervals``, the blocks as busy time (the booking page of meetings reads it);
- the daily queue (``crm.calls.queue``): build, read, live-intent refresh;
- logging calls (``crm.calls.outcomes``) (recordings: ``crm.recordings.services``);
- the rep's call settings and secret calendar feed (``crm.calls.settings``).

``connect_signals`` (called where the app is built) answers the meetings feature's question
for a host's busy time (``crm.signals.busy_time_requested``) with the host's blocks, so
meetings never imports calls (calls imports meetings: its calendar shows the meetings).
"""
from __future__ import annotations

from datetime import datetime

from crm.calls.blocks import (  # noqa: F401  (re-exported)
    BlockOverlapsMeeting,
    blocked_minutes,
    blocks_of,
    busy_intervals,
    create_block,
    day_bounds,
    day_occurrences,
    delete_block,
    describe,
    local_to_utc,
    occurrences,
)
from crm.calls.outcomes import LoggedCall, complete_follow_up, log_call, open_follow_ups  # noqa: F401
from crm.calls.queue import (  # noqa: F401  (re-exported)
    build_queue,
    capacity_for,
    next_entry,
    queue_entries,
    refresh_live_intent,
    skip_entry,
    today_for,
)
from crm.calls.settings import (  # noqa: F401  (re-exported)
    feed_url,
    regenerate_feed_token,
    set_calls_per_hour,
    settings_for,
    user_id_for_feed_token,
)
from crm.signals import busy_time_requested


def blocks_as_busy_time(sender: int, *, start: datetime, end: datetime, **_kwargs) -> list[tuple[datetime, datetime]]:
    """Receiver of ``busy_time_requested``: the user's (``sender``) blocks in [start, end)."""
    return busy_intervals(sender, start, end)


def connect_signals() -> None:
    """Subscribe the calls feature's receivers (idempotent: blinker keeps one connection per
    receiver). Blocks are busy time for booking: without this, meetings could be booked
    inside a prospecting block."""
    busy_time_requested.connect(blocks_as_busy_time)
