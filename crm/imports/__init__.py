"""CSV import of contacts and of deals with lines: header mapping, per-row validation through
the contact and deal services' own input rules, duplicate handling, batched commits, streaming,
rejected rows. Owns ``ImportJob`` and its rejected rows (``models.py``).

Exposes ``services.py`` (``import_file``, ``inspect_file``, ``queue_import``, job queries) and
``jobs.py`` (``run_queued_imports``, the worker's periodic job). Called by
``flask crm import contacts|deals FILE`` (``cli.py``), the upload pages (``views.py``, which
queue an ``ImportJob``) and the benchmark ``bench/import_contacts.py``.
Inside: ``reader`` (streaming, decoding, line numbers), ``mapping`` (headers to fields),
``contacts`` / ``deals`` (clean a row, write a batch), ``runner`` (the batch loop that commits).
"""
