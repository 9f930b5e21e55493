"""The demand page's filters, read from the query string: a month range, the probability
source, slip-adjusted timing and a set of families. Bad values never fail the page: each one
gets a message and the default takes its place. A month must lie where the planning API
accepts one (``api_schemas.period_in_range``): far from today the page's history and
horizon would run off the calendar the services know (1900-2999) and fail."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import ngettext

from planning_bridge.api_schemas import period_in_range
from planning_bridge.contracts import PROBABILITY_SOURCES
from planning_bridge.crm_port import utcnow
from planning_bridge.periods import DEFAULT_HORIZON, MAX_HORIZON, month_index, parse_period, period_index, period_text


def add_months(period: str, months: int) -> str:
    return period_text(period_index(period) + months)


def periods(start: str, end: str) -> list[str]:
    return [period_text(i) for i in range(period_index(start), period_index(end) + 1)]


@dataclass(frozen=True)
class DemandFilters:
    start: str
    end: str
    probabilities: str = "chosen"
    slip_adjusted: bool = False
    families: tuple[str, ...] = ()          # empty: every family
    errors: dict[str, str] = field(default_factory=dict, compare=False)

    def query(self, **overrides) -> dict:
        """The filters as query-string arguments (for links that keep them)."""
        args: dict[str, str | list[str]] = {"from": self.start, "to": self.end, "probabilities": self.probabilities}
        if self.slip_adjusted:
            args["slip"] = "1"
        if self.families:
            args["family"] = list(self.families)
        args.update(overrides)
        return args

    @property
    def periods(self) -> list[str]:
        return periods(self.start, self.end)


def read_filters(args, known_families: list[str], today: date | None = None) -> DemandFilters:
    """Filters from ``request.args`` (a MultiDict); defaults: 18 months from this month,
    calibrated probabilities, planned timing, every family."""
    errors: dict[str, str] = {}
    this_month = period_text(month_index(today or utcnow().date()))
    start = _period_arg(args, "from", this_month, errors)
    end = _period_arg(args, "to", add_months(start, DEFAULT_HORIZON - 1), errors)
    months = period_index(end) - period_index(start) + 1
    if months < 1:
        errors["to"] = _("The end month is before the start month; showing %(n)s months instead.",
                         n=DEFAULT_HORIZON)
        end = add_months(start, DEFAULT_HORIZON - 1)
    elif months > MAX_HORIZON:
        errors["to"] = _("At most %(n)s months at a time; showing the first %(n)s.", n=MAX_HORIZON)
        end = add_months(start, MAX_HORIZON - 1)
    probabilities = args.get("probabilities") or "chosen"
    if probabilities not in PROBABILITY_SOURCES:
        errors["probabilities"] = _("Probabilities are chosen, stage or calibrated; using chosen.")
        probabilities = "chosen"
    wanted = [code for code in args.getlist("family") if code]
    unknown = sorted(set(wanted) - set(known_families))
    if unknown:
        errors["family"] = ngettext("Unknown product family: %(codes)s.", "Unknown product families: %(codes)s.",
                                     len(unknown[:5]), codes=", ".join(code[:40] for code in unknown[:5]))
    families = tuple(code for code in known_families if code in wanted)
    return DemandFilters(start, end, probabilities, args.get("slip") in ("1", "true", "on"), families, errors)


def _period_arg(args, name: str, default: str, errors: dict) -> str:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    index = parse_period(text)
    if index is None:
        errors[name] = _("“%(text)s” is not a month written as YYYY-MM; using %(default)s.",
                         text=text[:20], default=default)
        return default
    period = period_text(index)
    try:
        return period_in_range(period)
    except ValueError as exc:
        errors[name] = _("%(period)s is too far from today (%(problem)s); using %(default)s.",
                         period=period, problem=exc, default=default)
        return default
