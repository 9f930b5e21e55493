"""Deprecated: renamed ``crm.scoring.scores``; other features use ``crm.scoring.services``."""
from crm.scoring.scores import record_event  # noqa: F401
