"""Contacts, companies, custom fields and the timeline (``Activity``).

Owns the people and organisations sales works with and the append-only timeline every other
feature writes to (``record_activity``). Exposes ``services.py`` and the CSV importer
(``importer.py``); called by the pages, the API, the CLI and every feature that touches a contact.
"""
