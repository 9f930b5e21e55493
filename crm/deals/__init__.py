"""Deals, their product lines, the editable pipeline of stages, product families and the
change history (``DealChange``) from which the pipeline can be rebuilt as of any past date.

Owns: ``Deal``, ``DealLine``, ``Stage``, ``ProductFamily``, ``DealChange``; the deal pages
(``views.py``, ``deal_page_views.py``), the API (``api.py``) and the deals panels on the contact
and company pages (``views.CONTACT_PANEL``, ``views.COMPANY_PANEL``).

Offers (``services.py``, re-exporting the catalogue from ``catalog.py`` and the input models
from ``inputs.py``): deal create/update/close/reopen/delete, board and list queries, deal
notes, stages and families, the history; every write parses its input through one Pydantic
model (``DealCreate``/``DealUpdate``, ``FamilyCreate``/``FamilyUpdate``, ``StageInput``), and
every tracked change is announced by ``crm.signals.deal_changed``.

Called by: its pages and API, the admin pages (families, stages), the CSV importer, the demo
seeder and, through ``crm/public.py``, the planning bridge. Depends on contacts (a deal's
company, contact and timeline), never the reverse.
"""
