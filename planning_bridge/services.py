"""The planning bridge's services, in one place for pages, API routes, CLI commands and jobs.

They live in submodules by topic and are re-exported here:

* demand input and its drill-down: ``demand.py`` (``demand_input``, ``demand_contributions``,
  ``last_probability_source``, ``stage_figures``; computed by the stages of ``path/``; the rows
  it returns also say which probability source was used in ``.probability_source`` —
  "calibrated" falls back to "stage" when history is short);
* actuals and baseline: ``history.py`` (``actuals_by_family``);
* probability quality: ``calibration.py`` (``calibration_reports``); stored figures and the
  per-family source choice: ``figures.py`` (``stored_accuracy``, ``stored_calibration``,
  ``current_choice``, ``request_figures``; computed by the worker) and ``source_choice.py``;
* slips: ``timing.py`` through ``slip_distribution`` below;
* snapshots: ``snapshots.py``; accuracy: ``accuracy.py``;
* settings and outlier decisions: ``settings.py``; CSV imports: ``imports.py``.

Services take plain arguments (and the acting user and ``now`` when they change something),
flush and never commit.
"""
from __future__ import annotations

from datetime import date

import numpy as np

from planning_bridge import accuracy, calibration, crm_port, history, inputs, observations, probabilities
from planning_bridge.accuracy import accuracy_report
from planning_bridge.calibration import calibration_reports
from planning_bridge.demand import (
    DemandCell,
    DemandRows,
    demand_contributions,
    demand_input,
    last_probability_source,
    stage_figures,
)
from planning_bridge.figures import (
    compute_accuracy,
    compute_calibration,
    compute_default_figures,
    request_figures,
    stored_accuracy,
    stored_calibration,
)
from planning_bridge.history import actuals_by_family
from planning_bridge.imports import import_actuals_csv, import_deals_csv
from planning_bridge.observations import observations_as_of, settled
from planning_bridge.periods import DEFAULT_HORIZON, default_range
from planning_bridge.settings import (
    clear_outlier_override,
    default_commit_stage,
    family_settings,
    list_outliers,
    save_family_setting,
    set_outlier_override,
)
from planning_bridge.snapshots import (
    get_snapshot,
    list_snapshots,
    snapshot_rows,
    snapshot_source_choice,
    take_month_end_snapshots,
    take_snapshot,
)
from planning_bridge.source_choice import current_choice
from planning_bridge.timing import SlipDistribution, learn_slips

COMBINE_RULE_DOC = """How a family's demand_input_units is made (its combine rule):
- pipeline: the weighted pipeline (Σ quantity × win probability of the open deal lines due
  that month). baseline_units shows the statistical baseline of all actuals, for reference.
- baseline: the statistical baseline forecast from all actual orders.
- baseline_plus_pipeline (the default): a baseline forecast from the actual orders that did
  not come from CRM deals (actuals minus won deals' units, month by month), shown as
  baseline_units, plus the weighted pipeline. A deal's units are counted once: as pipeline
  while it is open; its won units are taken out of the history the baseline learns from.
  Without imported actuals the baseline comes from the won-deal history (units per family and
  month), and baseline_units is what it expects beyond the booked orders and the weighted
  pipeline (never below 0): far months, which the open deals do not reach, are not empty."""


def slip_distribution(as_of: date | None = None) -> SlipDistribution:
    """Close-date slips learned from the won deals closed by ``as_of`` (default today)."""
    day = as_of or crm_port.utcnow().date()
    return learn_slips(settled(observations_as_of(day), np.datetime64(day, "D")))


def clear_caches() -> None:
    """Forget every in-process cache of the bridge (learned models, reports, baselines, deal
    histories). They are keyed on the state of the data, so only tests, whose databases restart
    their ids, need this."""
    for clear in (history.forecast.cache_clear, inputs.clear_cache, observations.clear_cache,
                  probabilities.clear_cache, calibration.clear_cache, accuracy.clear_cache):
        clear()


__all__ = [
    "COMBINE_RULE_DOC", "DEFAULT_HORIZON", "compute_accuracy", "compute_calibration",
    "compute_default_figures", "current_choice", "request_figures", "stored_accuracy", "stored_calibration",
    "DemandCell", "DemandRows", "SlipDistribution",
    "accuracy_report", "actuals_by_family", "calibration_reports", "clear_caches",
    "clear_outlier_override", "default_commit_stage", "default_range", "demand_contributions",
    "demand_input", "family_settings", "get_snapshot", "import_actuals_csv", "import_deals_csv",
    "last_probability_source", "list_outliers", "list_snapshots", "save_family_setting",
    "set_outlier_override", "slip_distribution", "snapshot_rows", "snapshot_source_choice", "stage_figures",
    "take_month_end_snapshots",
    "take_snapshot",
]
