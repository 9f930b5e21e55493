"""Plain-language wording of the per-family settings, shared by the demand and settings pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l  # the bridge reads no crm module but the port

RULE_LABELS = {
    "pipeline": _l("Pipeline only"),
    "baseline": _l("Baseline only"),
    "baseline_plus_pipeline": _l("Baseline + pipeline"),
}

RULE_EXPLANATIONS = {
    "pipeline": _l(
        "Demand input = the weighted pipeline (Σ quantity × win probability of open deal lines "
        "due that month). The statistical baseline is shown for reference only."
    ),
    "baseline": _l(
        "Demand input = the statistical baseline forecast from actual orders. The pipeline is "
        "shown for reference only: use it when deals are a small or unreliable share of demand."
    ),
    "baseline_plus_pipeline": _l(
        "Demand input = baseline + weighted pipeline. Here the baseline is forecast from the "
        "actual orders that did not come from CRM deals (run-rate business), so an order is "
        "never counted twice."
    ),
}


def rule_label(rule: str) -> str:
    return str(RULE_LABELS.get(rule, rule))


def rule_explanation(rule: str) -> str:
    return str(RULE_EXPLANATIONS.get(rule, ""))
