"""Deprecated: kept importable until the callers switch to ``crm.scoring.services``."""
from crm.scoring.services import ScoreSummary, score_summaries, top_scored_contacts  # noqa: F401
