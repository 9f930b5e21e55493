"""Users, roles, sessions and API tokens.

Owns: ``User`` (rep, manager with a team of reps, planner, admin), server-side login sessions,
hashed API tokens, the password policy (``passwords.py``) and the sentences shown about them
(``messages.py``).

Offers (``services.py``; ``services.messages`` for the sentences): create and authenticate
users, sessions, API tokens, forced password resets, deactivation, teams.

Called by: the login and account pages (``views.py``), the admin pages, the API's token check,
the app's session loader, the ``crm create-user`` / ``crm create-token`` commands and the
session-purge job. Imports no other feature (email normalisation is ``crm.validation``'s).
"""
