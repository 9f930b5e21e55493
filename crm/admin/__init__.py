"""Administration pages (admins only): users and teams, custom fields (``views.py``), product
families and pipeline stages (``pipeline_views.py``, on the same blueprint).

Owns no tables and offers no services: it is pages over ``crm.auth.services``,
``crm.contacts.services`` (custom fields) and ``crm.deals.services`` (families, stages).
Called by: nobody but the app, which mounts its blueprint from the manifest.
"""
