"""Contacts, companies, custom fields and the timeline (``Activity``).

Owns: the people and organisations sales works with (``Contact``, ``Company``), admin-defined
custom fields, the lifecycle stages (``models.LIFECYCLE_STAGES``, defined once), the append-only
timeline every feature writes to, and the contact page's panel mechanism (``panels.py``).

Offers (``services.py``, the only module other features import besides ``models``): contact and
company create/update/search (input models in ``inputs.py``), ``record_activity`` and
``timeline``, notes, email domains and free-mail (``normalize_email`` itself is the kernel's,
``crm.validation``), custom fields, ``ContactPanel``.

Called by: its pages (``views.py``, ``company_views.py``) and API (``api.py``); deals, calls,
mail, meetings, sequences, tracking and scoring (timeline, lookups, panels); the CSV importer
(``crm.imports``), the admin pages (custom fields) and the demo seeder. It imports no other
feature but ``auth.models`` (owners are users).
"""
