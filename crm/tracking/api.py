"""JSON API routes of the tracking feature (attached to ``crm.api.bp``)."""
from crm.api import bp  # noqa: F401
