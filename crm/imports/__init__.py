"""CSV import of contacts and of deals with lines: header mapping, per-row validation,
duplicate handling, batched commits, streaming, and the rejected-rows report.

Exposes ``services.py`` (``import_contacts``, ``import_deals``, ``run_import_job``); called by
``flask crm import ...``, the upload page (via a queued ``ImportJob`` the worker runs) and the
benchmark ``bench/import_contacts.py``.
"""
