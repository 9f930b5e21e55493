"""JSON API routes of the meetings feature (attached to ``crm.api.bp``)."""
from crm.api import bp  # noqa: F401
