"""The planner pages (blueprint ``planning`` at ``/planning``): demand input with charts and
drill-down, calibration, accuracy, snapshots, family settings and outlier review, CSV imports.

Thin callers of ``planning_bridge.services``: parse the request, call a service, commit, render.
Planners and admins only (``@roles("planner", "admin")`` on every route), like the planning
API: sales managers steer by the deal board and their team's pipeline in money, while these
pages change what goes to supply (settings, outlier decisions, imports, snapshots), so they stay
with the people who own the demand plan. Mounted by the manifest (``crm/features.py``,
"planning") as ``planning_bridge.views:bp``.
"""
from __future__ import annotations

from flask import Blueprint

PLANNERS = ("planner", "admin")

bp = Blueprint("planning", __name__, url_prefix="/planning")
