"""Sales targets from the S&OP plan: the published consensus plan (read only through
``crm.public.plan_feedback``, never the planning bridge) split per family and month into
targets per rep and team, exactly (largest remainder), by each rep's share of the weighted
pipeline and recent wins or by their manager's allocation; and the plan's spare capacity as
call-queue boosts.

Owns: ``TargetAllocation``; the team and allocation pages (``views.py``), ``GET /api/v1/targets``
(``api.py``).

Offers (``services.py``): ``my_day_targets`` (My day's panel, ``crm.calls``), ``team_targets``,
``user_targets``, ``save_allocation``, ``capacity_boosts`` (the call queue's boost).

Called by: calls (My day, the queue). Depends on auth and deals (models), never the reverse.
Ship holds on deals live in ``crm.deals.promises`` (deals cannot import this feature: it
depends on deals).
"""
