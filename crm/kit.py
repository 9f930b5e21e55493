"""The kit: the building blocks every feature builds with, gathered in one import.

Why it exists: the planning bridge is a feature like the others. It keeps its tables on the
CRM's one ``db`` (one ``create_all``, one Alembic history, the request's session), declares its
JSON routes, pages, CLI and periodic jobs the way every ``crm/<feature>/`` does, and the manifest
(``crm/features.py``) mounts them; nothing is registered by importing a module or calling a hook.
What the bridge may *read* of the CRM is ``crm.public``; what it *builds with* is this module,
so the bridge reaches no CRM internals and the boundary test can say so in one line
(``planning_bridge`` imports ``crm.public``, ``crm.signals`` and ``crm.kit`` only).

* tables: ``Model`` (the base class of every table: ``db.Model``), ``db`` (its session and
  metadata) and the column types ``UTCDateTime`` (aware UTC datetimes on every database)
  and ``JSONType`` (JSONB on PostgreSQL);
* service errors, which the CRM's handlers turn into pages and JSON answers: ``ServiceError``
  and its ``ValidationFailed``, ``NotFound``, ``Conflict``, ``PermissionDenied``; and
  ``field_errors``, pydantic's errors as field reasons in the reader's language;
* words: ``code_label``, a code word (a status, a strategy) as people read it, from the
  vocabularies features declare in the manifest (``Feature.code_labels``);
* access: ``roles`` on every page and route, the role groups ``ROLES``, ``EVERYONE``, ``SALES``;
* the JSON API: ``ApiRoutes`` (a feature's routes, mounted under ``/api/v1`` by the app
  factory), ``endpoint`` (parses the request and describes the route in OpenAPI) and
  ``api_user`` (the token's user);
* periodic work: ``Job`` and the triggers ``CronTrigger``, ``IntervalTrigger``, listed in a
  feature's ``jobs.JOBS``; background work a request queues: ``JobKind`` (listed in the
  manifest's ``job_kinds``), the ``JobRun`` its code is given, ``enqueue`` and ``open_job``;
* time: ``utcnow`` (the one clock tests freeze) and ``end_of_day`` ("as of a date" as a moment);
* the command line: ``OperatorLanguageGroup`` (a top-level ``flask`` group whose commands speak
  the operator's language) and ``cli_option`` (``click.option`` with an ``_l(...)`` help).

Only re-exports (``Model`` is ``db.Model`` under a name type checkers understand).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from crm.extensions import Base, db
from crm.i18n import OperatorLanguageGroup, cli_option, code_label
from crm.jobs.runner import JobKind, JobRun, enqueue, open_job
from crm.jsontype import JSONType
from crm.public_history import end_of_day
from crm.scheduler import CronTrigger, IntervalTrigger, Job
from crm.timeutil import UTCDateTime, utcnow
from crm.validation import field_errors
from crm.web.access import EVERYONE, ROLES, SALES, roles

if TYPE_CHECKING:
    # What ``db.Model`` is, spelled so type checkers can use it as a base class: Flask-SQLAlchemy
    # builds it at run time from ``Base`` (``SQLAlchemy(model_class=Base)``), which mypy cannot see.
    Model = Base
else:
    Model = db.Model

__all__ = [
    "ApiRoutes", "Conflict", "CronTrigger", "EVERYONE", "IntervalTrigger", "JSONType", "Job",
    "JobKind", "JobRun", "Model",
    "NotFound", "OperatorLanguageGroup", "PermissionDenied", "ROLES", "SALES", "ServiceError", "UTCDateTime",
    "ValidationFailed", "api_user", "cli_option", "code_label", "db", "end_of_day", "endpoint", "enqueue",
    "field_errors", "open_job", "roles", "utcnow",
]
