"""Plain-language verdicts for the calibration and accuracy pages: one sentence a planner can
repeat in the S&OP meeting, with its tone (good / bad / neutral) for the page's colour."""
from __future__ import annotations

from dataclasses import dataclass

from planning_bridge.contracts import AccuracyReport, CalibrationReport

ALL_FAMILIES = "ALL"  # the pooled row of the accuracy report


@dataclass(frozen=True)
class Verdict:
    text: str
    tone: str = "neutral"  # "good", "bad" or "neutral"


def holdout_words(report: CalibrationReport) -> str:
    """"318 deals seen open at 1,130 review moments from 2026-03-02 to 2026-09-16, all closed
    since": the unit counted is a deal seen at a review moment, and a page must not call those
    deals. (More deals may have closed since the holdout began: the ones only seen open before
    it, or opened too recently to judge, are not in it.)"""
    until = f" to {report.holdout_until.isoformat()}" if report.holdout_until else ""
    return (f"{report.holdout_deals:,} deals seen open at {report.holdout_count:,} review moments "
            f"from {report.holdout_from.isoformat()}{until}, all closed since")


def calibration_verdict(reports: list[CalibrationReport]) -> Verdict | None:
    """Compare the Brier scores of both sources on the same holdout (lower is better), and
    their calibration errors (is a 90 % deal won 90 % of the time?)."""
    by_source = {report.source: report for report in reports if report.holdout_count}
    stage, calibrated = by_source.get("stage"), by_source.get("calibrated")
    if stage is None or calibrated is None:
        return None
    gap = stage.brier - calibrated.brier
    honesty = (f" Calibration error: calibrated {calibrated.ece * 100:.1f} %, stage defaults "
               f"{stage.ece * 100:.1f} % (how far a bucket's predicted share is from its won share; lower is better).")
    if abs(gap) < 0.0005:
        return Verdict(f"Calibrated probabilities and the stage defaults score the same Brier "
                       f"({calibrated.brier:.3f}) on {holdout_words(calibrated)}." + honesty)
    if gap > 0:
        tone = "good" if calibrated.ece <= stage.ece else "neutral"
        return Verdict(f"Calibrated probabilities beat the stage defaults: Brier {calibrated.brier:.3f} "
                       f"against {stage.brier:.3f} on {holdout_words(calibrated)} (lower is better)."
                       + honesty, tone)
    return Verdict(f"The stage defaults beat the calibrated probabilities: Brier {stage.brier:.3f} "
                   f"against {calibrated.brier:.3f} on {holdout_words(stage)} (lower is better)." + honesty, "bad")


def one_story(report: AccuracyReport, calibration: list[CalibrationReport], *,
              on_calibration_page: bool = False) -> str | None:
    """What the calibration page and the accuracy page each measure, so a reader who sees
    them disagree knows why."""
    usable = [r for r in calibration if r.holdout_count]
    if not usable and not report.cells:
        return None
    parts = []
    if usable:
        parts.append(f"{'This page' if on_calibration_page else 'The calibration page'} scores each deal's "
                     f"win probability against its outcome ({holdout_words(usable[0])}): is a 60 % deal "
                     f"won 60 % of the time?")
    if report.cells:
        parts.append(f"{'The accuracy page' if on_calibration_page else 'This page'} scores the demand input "
                     f"itself, units per family and month over "
                     f"{len(report.months)} past months: quantity × probability, placed in a month by the "
                     f"expected close and lead time, plus the baseline. A source can be better calibrated "
                     f"deal by deal and still give worse units: when its errors fall on large deals, or "
                     f"when timing (close dates that slip) is what the forecast gets wrong.")
    parts.append("Each family's default source is chosen on the accuracy page's measure (demand-input WMAPE "
                 "at lags 1-3), among the sources whose calibration error is no worse than the stage defaults'.")
    return " ".join(parts)


def _points(value: float) -> str:
    return f"{abs(value) * 100:.1f}"


@dataclass(frozen=True)
class KnownValue:
    """One lag's value added (all families pooled) where it could be measured."""

    lag: int
    fva: float


def _pooled(report: AccuracyReport, origin: str, candidate: str, reference: str) -> list[KnownValue]:
    return [KnownValue(v.lag, v.fva) for v in report.value_added
            if v.origin == origin and v.family == ALL_FAMILIES and v.candidate == candidate
            and v.reference == reference and v.fva is not None]


def preferred_origin(report: AccuracyReport) -> str | None:
    """Snapshots when some were taken (what was really published), else the rebuilt history."""
    for origin in ("snapshots", "rebuilt"):
        if _pooled(report, origin, "calibrated", "stage"):
            return origin
    return None


def _by_lag(values: list[KnownValue]) -> str:
    """"4.0 points at lag 1, 3.0 at lag 2 and 2.0 at lag 3"."""
    parts = [f"{_points(v.fva)} at lag {v.lag}" for v in values]
    parts[0] = parts[0].replace(" at", " points at", 1)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def accuracy_verdict(report: AccuracyReport) -> Verdict | None:
    """"Calibrated probabilities beat the stage defaults by X points" (of WMAPE, all families
    pooled) at each lag, or the opposite; from snapshots when there are some."""
    origin = preferred_origin(report)
    if origin is None:
        return None
    values = sorted(_pooled(report, origin, "calibrated", "stage"), key=lambda v: v.lag)
    source = "the published snapshots" if origin == "snapshots" else "the pipeline rebuilt as of each past month"
    better = [v for v in values if v.fva > 0.0005]
    worse = [v for v in values if v.fva < -0.0005]
    if better and not worse:
        return Verdict(f"Calibrated probabilities beat the stage defaults by {_by_lag(values)} "
                       f"(WMAPE, all families together, on {source}).", "good")
    if worse and not better:
        return Verdict(f"Calibrated probabilities do not beat the stage defaults: they are worse by "
                       f"{_by_lag(values)} (WMAPE, all families together, on {source}).", "bad")
    if not better and not worse:
        return Verdict(f"Calibrated probabilities and the stage defaults are equally accurate on {source}.")
    parts = "; ".join(
        f"lag {v.lag}: {'better' if v.fva > 0 else 'worse'} by {_points(v.fva)} points" for v in values)
    return Verdict(f"Mixed: calibrated probabilities against the stage defaults, all families together, "
                   f"on {source} — {parts}.")


def pipeline_verdict(report: AccuracyReport) -> Verdict | None:
    """Does adding the pipeline to the baseline help, against the baseline alone? Said for the
    stage defaults (what ``chosen`` falls back to) and for the calibrated probabilities."""
    origin = preferred_origin(report) or "rebuilt"
    found = {source: sorted(_pooled(report, origin, source, "baseline"), key=lambda v: v.lag)
             for source in ("stage", "calibrated")}
    if not any(found.values()):
        return None
    parts = []
    for source, label in (("stage", "stage defaults"), ("calibrated", "calibrated probabilities")):
        if not found[source]:
            continue
        lead = found[source][0]
        if lead.fva > 0.0005:
            parts.append(f"with {label} it improves on the baseline alone by {_points(lead.fva)} points of "
                         f"WMAPE at lag {lead.lag}")
        elif lead.fva < -0.0005:
            parts.append(f"with {label} it is {_points(lead.fva)} points of WMAPE worse than the baseline "
                         f"alone at lag {lead.lag}")
        else:
            parts.append(f"with {label} it changes nothing at lag {lead.lag}")
    best = max((values[0].fva for values in found.values() if values), default=0.0)
    tone = "good" if best > 0.0005 else ("bad" if best < -0.0005 else "neutral")
    return Verdict("Adding the pipeline to the baseline: " + "; ".join(parts) + ".", tone)
