"""The JSON API under /api/v1: token-authenticated, described by /api/v1/openapi.json.

Each feature's ``api.py`` declares its routes on an ``ApiRoutes`` (``crm/api/routing.py``),
each route with ``@roles`` and ``@endpoint`` (``crm/api/endpoint.py``); the manifest
(``crm/features.py``) names them and ``crm/api/routes.py`` mounts them on one blueprint per
app. ``crm/api/openapi.py`` builds the document from the mounted routes' declarations.
Routes act as ``api_user()`` (``crm/api/auth.py``) and call the services.
"""
