"""Worker jobs of the scoring feature."""
from __future__ import annotations

from crm.scheduler import CronTrigger, IntervalTrigger, Job


def _recompute_if_needed(now):
    from crm.scoring.services import recompute_if_needed

    return recompute_if_needed(now)


def _refresh_fit(now):
    from crm.scoring.scores import refresh_fit

    return refresh_fit(now) or None


def _refresh_predictions(now):
    from crm.scoring.predictive import apply_model

    return apply_model(now) or None


JOBS: list = [
    Job("scoring-recompute-after-rule-change", _recompute_if_needed, IntervalTrigger(seconds=60)),
    Job("scoring-refresh-contacts", _refresh_fit, IntervalTrigger(minutes=1)),
    Job("scoring-refresh-predictions", _refresh_predictions, CronTrigger(hour=4, minute=5)),
]
