"""Prospecting CRM: contacts, companies, deals, the timeline, and the features that work them.

``create_app`` is the composition root; see ``crm/app.py``.
"""
from crm.app import create_app

__all__ = ["create_app"]
