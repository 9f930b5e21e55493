"""The manifest: every feature of the product, core ones and the planning bridge included, and
what each one plugs in. This is the only place a feature is wired.

A feature is a package with the standard rooms (``models.py``, ``inputs.py``, ``services.py``,
``views.py``, ``api.py``, ``cli.py``, ``jobs.py``, ``demo.py``; see README "Architecture"). Its
entry below names, as ``"module:attribute"`` strings, the objects the app is built from:

- ``models``: modules whose tables join the metadata (Alembic, ``create_all`` in tests);
- ``blueprints``: Flask blueprints with its pages and public endpoints;
- ``api``: an ``ApiRoutes`` (``crm/api/routing.py``) mounted under ``/api/v1``; the OpenAPI
  document is built from the mounted routes;
- ``cli``: a click group added under ``flask crm`` (``root_cli`` under ``flask`` itself);
- ``jobs``: a list of ``crm.scheduler.Job``, joined into the worker's one job table
  (``flask --app wsgi crm jobs`` lists it);
- ``job_kinds``: ``crm.jobs.runner.JobKind`` values, the kinds of background work requests queue;
- ``contact_panels``: ``ContactPanel`` values the contact page (or, ``page="company"``, the
  company page) shows;
- ``timeline_labels``: how the activity kinds the feature writes read on a timeline;
- ``signals``: functions ``connect()`` that subscribe the feature to other features' signals
  (``crm/signals.py``), called for every app built, so they must be idempotent;
- ``demo``: ``seed(actors, today, now) -> dict[str, int]`` for ``crm seed-demo``;
- ``setup``: ``init(app)`` for per-app wiring nothing above covers.

Why strings: naming an object here must not import the feature while this module loads (the
app factory imports them all in one place, ``load``), and nothing is registered by importing a
module for its side effects: what is not named here does not exist for the app.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Feature:
    name: str
    about: str
    models: tuple[str, ...] = ()
    blueprints: tuple[str, ...] = ()
    api: str | None = None
    cli: str | None = None
    root_cli: str | None = None
    jobs: str | None = None
    job_kinds: tuple[str, ...] = ()
    contact_panels: tuple[str, ...] = ()
    timeline_labels: dict[str, str] = field(default_factory=dict)
    signals: tuple[str, ...] = ()
    demo: str | None = None
    setup: str | None = None


FEATURES: tuple[Feature, ...] = (
    Feature(
        "web", "The shell: home page, navigation, error pages, template helpers.",
        blueprints=("crm.web.views:bp",),
    ),
    Feature(
        "auth", "Users, roles, sign-in, sessions, API tokens.",
        models=("crm.auth.models",),
        blueprints=("crm.auth.views:bp",),
        jobs="crm.auth.jobs:JOBS",
    ),
    Feature(
        "contacts", "Contacts, companies, custom fields, the timeline and the contact page.",
        models=("crm.contacts.models",),
        blueprints=("crm.contacts.views:bp",),
        api="crm.contacts.api:routes",
        timeline_labels={
            "note": "Note", "contact_created": "Contact created", "imported": "Imported",
            "form_submitted": "Form submitted",
        },
    ),
    Feature(
        "deals", "Deals, stages, product families and deal lines.",
        models=("crm.deals.models",),
        blueprints=("crm.deals.views:bp",),
        api="crm.deals.api:routes",
        contact_panels=("crm.deals.views:CONTACT_PANEL", "crm.deals.views:COMPANY_PANEL"),
        timeline_labels={
            "deal_created": "Deal created", "deal_stage_changed": "Deal moved",
            "deal_won": "Deal won", "deal_lost": "Deal lost",
        },
    ),
    Feature(
        "admin", "Administration pages: users, custom fields, the pipeline's stages.",
        blueprints=("crm.admin.views:bp",),
    ),
    Feature(
        "imports", "CSV imports of contacts, companies and deals, queued and resumable.",
        models=("crm.imports.models",),
        blueprints=("crm.imports.views:bp",),
        api="crm.imports.api:routes",
        cli="crm.imports.cli:import_group",
        jobs="crm.imports.jobs:JOBS",
    ),
    Feature(
        "demo", "The demo company: ``flask crm seed-demo`` fills an empty database with a living CRM.",
        cli="crm.demo.cli:seed_demo_command",
    ),
    Feature(
        "jobs", "Background work a request queues and the worker runs, with progress pages.",
        models=("crm.jobs.models",),
        blueprints=("crm.jobs.views:bp",),
        jobs="crm.jobs.runner:JOBS",
    ),
    Feature(
        "ratelimits", "Rate-limit counters kept in the database (shared by every process).",
        models=("crm.ratelimits.models",),
    ),
    Feature(
        "sequences", "Email sequences: templates, steps, enrollments, call tasks.",
        models=("crm.sequences.models",),
        blueprints=("crm.sequences.views:bp",),
        api="crm.sequences.api:routes",
        jobs="crm.sequences.jobs:JOBS",
        signals=("crm.sequences.subscribers:connect",),
        job_kinds=("crm.sequences.bulk:JOB_KIND",),
        contact_panels=("crm.sequences.views:CONTACT_PANEL",),
        demo="crm.sequences.demo:seed",
    ),
    Feature(
        "mail", "Outgoing mail (outbox, SMTP), incoming mail (IMAP, webhook), unsubscribes.",
        models=("crm.mail.models",),
        blueprints=("crm.mail.views:bp",),
        api="crm.mail.api:routes",
        cli="crm.mail.cli:mail_group",
        jobs="crm.mail.jobs:JOBS",
        signals=("crm.mail.engagement:connect_signals",),
        contact_panels=("crm.mail.views:CONTACT_PANEL",),
        setup="crm.mail.deliverability:init",
        timeline_labels={
            "email_sent": "Email sent", "email_replied": "Replied", "email_bounced": "Email bounced",
            "email_failed": "Email not sent",
        },
        demo="crm.mail.demo:seed",
    ),
    Feature(
        "meetings", "Booking links, availability, meetings and calendar invites.",
        models=("crm.meetings.models",),
        blueprints=("crm.meetings.views:bp",),
        api="crm.meetings.api:routes",
        jobs="crm.meetings.jobs:JOBS",
        contact_panels=("crm.meetings.views:CONTACT_PANEL",),
        timeline_labels={"meeting_booked": "Meeting booked"},
        demo="crm.meetings.demo:seed",
    ),
    Feature(
        "calls", "The call queue, time blocks, logging calls, scripts, plan versus actual.",
        models=("crm.calls.models",),
        blueprints=("crm.calls.views:bp",),
        api="crm.calls.api:routes",
        jobs="crm.calls.jobs:JOBS",
        signals=("crm.calls.services:connect_signals",),
        contact_panels=("crm.calls.views:CONTACT_PANEL",),
        timeline_labels={"call": "Call"},
        demo="crm.calls.demo:seed",
    ),
    Feature(
        "recordings", "Call recordings: uploads checked by content, range-served audio, analysis in the worker.",
        models=("crm.recordings.models",),
        blueprints=("crm.recordings.views:bp",),
        api="crm.recordings.api:routes",
        cli="crm.recordings.cli:recordings_group",
        jobs="crm.recordings.jobs:JOBS",
        demo="crm.recordings.demo:seed",
        setup="crm.recordings.views:init",
    ),
    Feature(
        "reviews", "Conversation review: transcripts, keyword trackers, the review queue, the player, comments "
                   "at the second, scorecards, the library of clips, the rep's feedback.",
        models=("crm.reviews.models",),
        blueprints=("crm.reviews.views:bp",),
        api="crm.reviews.api:routes",
        cli="crm.reviews.cli:reviews_group",
        demo="crm.reviews.demo:seed",
    ),
    Feature(
        "tracking", "Email opens and clicks, website visits, and the verdicts on them.",
        models=("crm.tracking.models",),
        blueprints=("crm.tracking.views:bp", "crm.tracking.public_views:bp"),
        api="crm.tracking.api:routes",
        cli="crm.tracking.cli:tracking_cli",
        jobs="crm.tracking.jobs:JOBS",
        job_kinds=("crm.tracking.background:JOB_KIND",),
        contact_panels=("crm.tracking.views:CONTACT_PANEL",),
        timeline_labels={
            "email_opened": "Email opened", "email_clicked": "Link clicked", "page_viewed": "Page viewed",
        },
        demo="crm.tracking.demo:seed",
    ),
    Feature(
        "scoring", "Lead scores: rules, events, the predictive model.",
        models=("crm.scoring.models",),
        blueprints=("crm.scoring.views:bp",),
        api="crm.scoring.api:routes",
        cli="crm.scoring.cli:scoring_cli",
        jobs="crm.scoring.jobs:JOBS",
        job_kinds=("crm.scoring.background:RECOMPUTE_KIND", "crm.scoring.background:TRAIN_KIND"),
        contact_panels=("crm.scoring.views:CONTACT_PANEL",),
        demo="crm.scoring.demo:seed",
    ),
    Feature(
        "alerts", "Alerts for reps (a hot lead, a reply, a booking), in the page and the API.",
        models=("crm.alerts.models",),
        blueprints=("crm.alerts.views:bp",),
        api="crm.alerts.api:routes",
        jobs="crm.alerts.jobs:JOBS",
        demo="crm.alerts.demo:seed",
    ),
    Feature(
        "targets", "Sales targets from the published S&OP plan, team allocations, capacity boosts.",
        models=("crm.targets.models",),
        blueprints=("crm.targets.views:bp",),
        api="crm.targets.api:routes",
    ),
    Feature(
        "planning", "The planning bridge: pipeline-based demand input for S&OP, accuracy, snapshots.",
        models=("planning_bridge.models",),
        blueprints=("planning_bridge.views:bp",),
        api="planning_bridge.api:routes",
        root_cli="planning_bridge.cli:planning_cli",
        jobs="planning_bridge.jobs:JOBS",
    ),
    Feature(
        "sop", "The S&OP cycle (in the planning bridge): the monthly cycle's five steps, demand overrides, "
               "capacity, the business plan, the published consensus plan, and the plan feedback sales reads.",
        models=("planning_bridge.sop.models",),
        blueprints=("planning_bridge.sop.views:bp",),
        api="planning_bridge.sop.api:routes",
        jobs="planning_bridge.sop.jobs:JOBS",
        demo="planning_bridge.sop.demo:seed",
        setup="planning_bridge.sop.feedback:init",
    ),
)


def load(reference: str) -> Any:
    """The object a ``"module:attribute"`` reference names (``"module"`` alone: the module)."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def feature(name: str) -> Feature:
    return next(f for f in FEATURES if f.name == name)


def load_all(kind: str) -> list[Any]:
    """Every object of one kind the manifest names, in manifest order: ``kind`` is a field of
    ``Feature`` holding one reference or a tuple of them."""
    found = []
    for entry in FEATURES:
        value = getattr(entry, kind)
        references = value if isinstance(value, tuple) else (value,) if value else ()
        found.extend(load(reference) for reference in references)
    return found


def timeline_labels() -> dict[str, str]:
    return {kind: label for entry in FEATURES for kind, label in entry.timeline_labels.items()}
