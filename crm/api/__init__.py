"""The JSON API under /api/v1: token-authenticated, described by /api/v1/openapi.json.

Each feature's ``api.py`` adds its routes to ``bp``, each route declared with ``@roles`` and
``@endpoint`` (``crm/api/endpoint.py``); ``crm/api/openapi.py`` builds the document from those
declarations. Routes act as ``api_user()`` (``crm/api/auth.py``) and call the services.
"""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from crm.api import routes  # noqa: E402,F401  (attaches every feature's routes to bp)
