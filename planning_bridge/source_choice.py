"""Which probability source each family's demand input uses by default (``chosen``): the one
that wins the backtest for that family.

Evidence, per family, from the stored accuracy figures (``figures.py``; the pipeline rebuilt
as of each past month end, so every source is scored on the same months):

1. the mean WMAPE of the demand input at lags 1-3 (``CHOICE_LAGS``) for ``stage``,
   ``calibrated`` and ``blend`` (their average);
2. a learned source (``calibrated``, ``blend``) may only win when its probabilities are not
   less honest than the stage defaults on the calibration holdout (expected calibration
   error no higher), so a lucky WMAPE cannot promote overconfident probabilities;
3. with fewer than ``MIN_MONTHS`` scored months for the family (or no actual demand in them),
   there is too little evidence: ``stage``.

Ties (within ``TIE`` points of WMAPE) go to the simpler source, stage before blend before
calibrated. The choice is re-made whenever the figures are computed (each month end), and
each snapshot records the choice and its reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import ngettext
from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.contracts import CANDIDATE_SOURCES, AccuracyReport, CalibrationReport
from planning_bridge.models import StoredFigures

CHOICE_LAGS = (1, 2, 3)
#: The stored accuracy figures the choice is read from (``figures.DEFAULT_ACCURACY_KEY``).
DEFAULT_KEY = "lags=1,2,3;months=12;slip=0"
MIN_MONTHS = 6
TIE = 0.005
ORIGIN = "rebuilt"


def N_(message: str) -> str:  # noqa: N802  (gettext's name for it)
    """Marks a word for the catalogue; translated where shown."""
    return message


#: The kinds of reason a choice is stored with (``SourceChoice.why["kind"]``):
#: ``lowest_wmape`` (with ``lags``, ``months``, ``ranking`` and ``refused``),
#: ``too_little_history`` (``months``, ``needed``), ``not_computed`` (no backtest at all),
#: ``family_not_computed`` (none for this family) and ``text`` (a reason stored as an English
#: sentence before the reason was kept as data: ``text``, shown as written).
REASON_KINDS = ("lowest_wmape", "too_little_history", "not_computed", "family_not_computed", "text")

#: A candidate source as a word inside a sentence ("stage 12.0 %"); the pages' full labels
#: are the ``probability_source`` vocabulary (``contracts.SOURCE_LABELS``).
SOURCE_WORDS = {"stage": N_("stage"), "calibrated": N_("calibrated"), "blend": N_("blend")}


@dataclass(frozen=True)
class SourceChoice:
    """A family's source and why: ``why`` is the reason as data (``REASON_KINDS``), stored with
    the figures and rendered in the reader's language where shown (``reason``)."""

    family: str
    source: str                      # one of CANDIDATE_SOURCES
    wmape: dict[str, float] = field(default_factory=dict)  # source -> mean WMAPE at lags 1-3 (the evidence)
    why: dict[str, Any] = field(default_factory=lambda: {"kind": "not_computed"})

    @property
    def reason(self) -> str:
        """The reason as a sentence in the current language (English outside a request)."""
        return reason_text(self.why)

    def stored(self) -> dict[str, Any]:
        """What the figures (and a snapshot) keep: the data, no sentence."""
        return {"family": self.family, "source": self.source, "wmape": dict(self.wmape), "why": self.why}

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> SourceChoice:
        """A stored choice, either shape: ``why`` (data) or, stored before it, ``reason`` (an
        English sentence, kept and shown as written)."""
        why = value.get("why")
        if not isinstance(why, dict) or why.get("kind") not in REASON_KINDS:
            why = {"kind": "text", "text": str(value.get("reason") or "")}
        return cls(family=str(value.get("family") or ""), source=str(value.get("source") or "stage"),
                   wmape=dict(value.get("wmape") or {}), why=why)


def source_word(source: str) -> str:
    return _(SOURCE_WORDS[source]) if source in SOURCE_WORDS else source


def _percent(value: Any) -> str:
    return f"{float(value) * 100:.1f} %"


def reason_text(why: dict[str, Any] | None) -> str:
    """The sentence for a stored reason (see ``REASON_KINDS``), in the current language."""
    why = why or {}
    kind = why.get("kind")
    if kind == "text":
        return str(why.get("text") or "")
    if kind == "family_not_computed":
        return _("no backtest computed for this family yet: the stage defaults")
    if kind == "too_little_history":
        return ngettext("too little history to choose by (%(num)s month scored, %(needed)s needed): "
                        "the stage defaults",
                        "too little history to choose by (%(num)s months scored, %(needed)s needed): "
                        "the stage defaults", int(why.get("months") or 0), needed=why.get("needed", MIN_MONTHS))
    if kind == "lowest_wmape":
        ranking = ", ".join(f"{source_word(item['source'])} {_percent(item['wmape'])}"
                            for item in why.get("ranking") or ())
        text = _("lowest WMAPE at lags %(lags)s over %(months)s months (%(ranking)s)",
                 lags="-".join(str(lag) for lag in why.get("lags") or CHOICE_LAGS),
                 months=why.get("months", 0), ranking=ranking)
        for item in why.get("refused") or ():
            text += "; " + _("%(source)s is less honest on the holdout (calibration error %(ece)s against "
                             "%(stage_ece)s)", source=source_word(item["source"]), ece=_percent(item["ece"]),
                             stage_ece=_percent(item["stage_ece"]))
        return text
    return _("no backtest computed yet: the stage defaults")


def choose_sources(report: AccuracyReport | None, calibration: list[CalibrationReport] | None,
                   families: list[str]) -> dict[str, SourceChoice]:
    """Each family's source and why (see the module docstring)."""
    return {family: _choose(family, report, calibration or []) for family in families}


def _choose(family: str, report: AccuracyReport | None, calibration: list[CalibrationReport]) -> SourceChoice:
    if report is None:
        return SourceChoice(family, "stage", {}, {"kind": "not_computed"})
    scores: dict[str, list[float]] = {}
    months = 0
    for cell in report.cells:
        if cell.origin != ORIGIN or cell.family != family or cell.lag not in CHOICE_LAGS:
            continue
        if cell.forecast in CANDIDATE_SOURCES and cell.wmape is not None:
            scores.setdefault(cell.forecast, []).append(cell.wmape)
            months = max(months, cell.months)
    if months < MIN_MONTHS or "stage" not in scores:
        return SourceChoice(family, "stage", {}, {"kind": "too_little_history", "months": months,
                                                  "needed": MIN_MONTHS})
    wmape = {source: sum(values) / len(values) for source, values in scores.items()}
    ece = {r.source: r.ece for r in calibration if r.holdout_count}
    eligible, refused = ["stage"], []
    for source in ("blend", "calibrated"):
        if source not in wmape:
            continue
        if source in ece and "stage" in ece and ece[source] > ece["stage"]:
            refused.append({"source": source, "ece": ece[source], "stage_ece": ece["stage"]})
            continue
        eligible.append(source)
    lowest = min(wmape[source] for source in eligible)
    best = next(source for source in eligible if wmape[source] <= lowest + TIE)
    ranking = [{"source": source, "wmape": wmape[source]} for source in sorted(wmape, key=lambda s: wmape[s])]
    return SourceChoice(family, best, wmape, {"kind": "lowest_wmape", "lags": list(CHOICE_LAGS), "months": months,
                                              "ranking": ranking, "refused": refused})


def current_choice(as_of: date | None = None) -> tuple[dict[str, SourceChoice], datetime | None]:
    """Each family's chosen source from the latest default figures computed by ``as_of``
    (default: the latest of all), and when they were computed; ({}, None) before any."""
    query = select(StoredFigures).where(StoredFigures.kind == "accuracy", StoredFigures.key == DEFAULT_KEY)
    if as_of is not None:
        query = query.where(StoredFigures.as_of <= as_of)
    row = crm_port.db.session.scalar(
        query.order_by(StoredFigures.as_of.desc(), StoredFigures.computed_at.desc()).limit(1))
    if row is None:
        return {}, None
    raw = row.payload.get("choice") or {}
    return {family: SourceChoice.from_stored(value) for family, value in raw.items()}, row.computed_at


def source_for(choice: dict[str, SourceChoice], family: str) -> SourceChoice:
    return choice.get(family) or SourceChoice(family, "stage", {}, {"kind": "family_not_computed"})
