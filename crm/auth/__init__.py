"""Users, roles, sessions and API tokens.

Owns ``User`` (rep, manager with a team of reps, planner, admin), server-side login sessions
and hashed API tokens. Exposes the services in ``services.py``; the login pages, the token page,
the ``crm create-user`` / ``crm create-token`` commands and the API's token check call them.
"""
