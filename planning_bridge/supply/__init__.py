"""Supply scenarios (issue 16): the aggregate plan of a product family as a linear program
(``model.py``, solved by SciPy's HiGHS), the chase, level and planner's plans priced by the
same cost model (``strategies.py``), promotion what-ifs (``promotions.py``), each family's
cost settings and the plan chosen for a cycle's supply review (``models.py``).

Part of the planning bridge: it reads the CRM only through ``planning_bridge.crm_port`` and
the S&OP cycle only through ``planning_bridge.sop.services``. Its manifest entry
(``crm/features.py``, "supply") mounts the pages (``views.py``) and the JSON routes
(``api.py``); the CLI command ``planning aggregate-plan`` is in ``cli.py``, added to the
bridge's ``planning`` group. ``services.py`` is the one face pages, API and CLI call.
"""
