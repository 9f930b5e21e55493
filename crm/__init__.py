"""Prospecting CRM: contacts, companies, deals, the timeline, and the features that work them.

Every feature is a package here, wired by the manifest (``crm/features.py``); ``crm.app``'s
``create_app`` is the composition root. Importing this package imports nothing else, so a
feature's module can be loaded (and tested) without building the whole app.
"""
