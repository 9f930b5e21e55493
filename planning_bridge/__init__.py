"""Planning bridge: turns the weighted pipeline into demand-plan input for S&OP.

Owns its tables (``models.py``), the demand input, probabilities, bands, baseline use,
snapshots and accuracy (``services.py``), the planner pages (blueprint ``planning``), JSON
routes under ``/api/v1/planning`` (``api.py``), the ``flask planning`` CLI (``cli.py``) and the
month-end snapshot job (``jobs.py``). Reads the CRM only through ``planning_bridge.crm_port``
(``crm.public`` / ``crm.signals``); ``crm`` meets the bridge only in ``create_app`` via
``init_app``.
"""
from __future__ import annotations

from flask import Flask

# Imported with the package, not in init_app: the tables must be on the metadata before
# anyone creates them, and Flask refuses routes on the API blueprint once an app has
# registered it, which create_app does before calling init_app.
from planning_bridge import api as _api  # noqa: F401  (attaches /api/v1/planning routes)
from planning_bridge import models as _models  # noqa: F401


__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from planning_bridge.cli import planning_cli
    from planning_bridge.jobs import register_jobs
    from planning_bridge.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(planning_cli)
    register_jobs()
    app.extensions["planning_bridge"] = {"version": 1}
