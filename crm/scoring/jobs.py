"""Worker jobs of the scoring feature (``JOBS``, in the worker's table through the manifest)."""
from __future__ import annotations

from crm.scheduler import CronTrigger, IntervalTrigger, Job
from crm.scoring.predictive import apply_model
from crm.scoring.scores import refresh_fit
from crm.scoring.services import recompute_if_needed


def _refresh_fit(now):
    return refresh_fit(now) or None


def _refresh_predictions(now):
    return apply_model(now) or None


JOBS: list = [
    Job("scoring-recompute-after-rule-change", recompute_if_needed, IntervalTrigger(seconds=60)),
    Job("scoring-refresh-contacts", _refresh_fit, IntervalTrigger(minutes=1)),
    Job("scoring-refresh-predictions", _refresh_predictions, CronTrigger(hour=4, minute=5)),
]
