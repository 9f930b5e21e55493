"""Planning bridge: turns the weighted pipeline into demand-plan input for S&OP.

Reads the CRM only through ``planning_bridge.crm_port`` (which wraps ``crm.public`` and
``crm.signals``); ``crm`` meets the bridge only in ``crm.app.create_app`` via ``init_app``.
The forecast, accuracy and plan-feedback features arrive with their own issue.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    app.extensions["planning_bridge"] = {"version": 0}
