"""Administration pages: users and teams, product families, pipeline stages, custom fields.
Calls ``crm.auth.services``, ``crm.deals.services`` and ``crm.contacts.custom_fields``."""
