"""The features that plug into the core, in one list.

Each feature is a package ``crm/<name>/`` with the same optional modules:

- ``models.py``  its tables (imported so metadata is complete);
- ``views.py``   a blueprint ``bp`` for its pages (and public endpoints);
- ``api.py``     routes added to the JSON API blueprint;
- ``jobs.py``    ``JOBS``, a list of ``crm.scheduler.Job`` for the worker;
- ``demo.py``    ``seed(actors, today, now) -> dict[str, int]``, called by ``crm seed-demo``.

The composition root (``crm/app.py``), the scheduler and the demo read this list, so adding a
feature never means editing them.
"""
from __future__ import annotations

import importlib
from types import ModuleType

FEATURES: tuple[str, ...] = (
    "sequences", "mail", "meetings", "calls", "tracking", "scoring", "alerts",
)


def feature_modules(kind: str) -> list[ModuleType]:
    """``kind`` is one of models, views, api, jobs, demo; features without it are skipped."""
    modules = []
    for name in FEATURES:
        dotted = f"crm.{name}.{kind}"
        if importlib.util.find_spec(dotted) is not None:
            modules.append(importlib.import_module(dotted))
    return modules
