"""Deals, their product lines, the editable pipeline of stages, product families and the
change history (``DealChange``) from which the pipeline can be rebuilt as of any past date.

Exposes ``services.py``; called by the pages, the API, the CSV importer, the demo seeder and,
through ``crm/public.py``, the planning bridge.
"""
