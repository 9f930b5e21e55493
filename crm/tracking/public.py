"""Deprecated: kept importable until the callers switch to ``crm.tracking.services``."""
from crm.tracking.services import Intent, recent_human_intent  # noqa: F401
