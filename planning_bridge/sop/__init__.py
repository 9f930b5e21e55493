"""The S&OP cycle (issue 15): the monthly cycle of five steps, demand review with overrides,
supply review (capacity, production strategy, inventory or backlog), the finance view against
the business plan, the pre-meeting, the executive meeting and the published consensus plan,
and the plan feedback the CRM reads back (``feedback.py``: the ``PlanFeedback`` provider).

Part of the planning bridge: it reads the CRM only through ``planning_bridge.crm_port``.
Its manifest entry (``crm/features.py``, "sop") mounts the pages (``views.py``: ``bp``),
the JSON routes (``api.py``: ``routes``), the month-end job (``jobs.py``: ``JOBS``), the demo
(``demo.py``) and registers the provider for every app built (``feedback.init``). The CLI is
under ``flask planning cycle ...`` / ``planning import-plan`` (``cli.py``, added to the
bridge's ``planning`` group). ``services.py`` is the one face pages, API, CLI and jobs call.
"""
