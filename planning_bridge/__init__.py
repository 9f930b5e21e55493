"""Planning bridge: turns the weighted pipeline into demand-plan input for S&OP.

Owns its tables (``models.py``), the demand input, probabilities, bands, baseline use,
snapshots and accuracy (``services.py``), the planner pages (blueprint ``planning``,
``views.py``), JSON routes under ``/api/v1/planning`` (``api.py``: ``routes``), the
``flask planning`` CLI (``cli.py``) and the month-end snapshot job (``jobs.py``: ``JOBS``).

It is a feature like the others: its entry in the manifest (``crm/features.py``, "planning")
names those objects and the app factory mounts them. It reads the CRM only through
``planning_bridge.crm_port`` (``crm.public`` records and reads, ``crm.kit`` building blocks,
``crm.signals``); ``crm`` never imports it.
"""
