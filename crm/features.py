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
- ``timeline_labels``: how the activity kinds the feature writes read on a timeline (a short name);
- ``timeline_sentences``: per kind, the sentence a timeline entry reads as: a ``%(name)s``
  template marked with ``_l``, or a tuple of them tried in order (the first whose placeholders
  the row can fill wins); placeholders are listed in ``crm/contacts/sentences.py``. A kind
  without one reads as its label, with its details in the entry's toggle;
- ``code_labels``: ``{vocabulary: {code: _l(label)}}`` dicts, how the code words the feature
  stores (a deal's status, a strategy) read on pages and inside sentences, through the one
  lookup ``crm.i18n.code_label`` (the template filter ``label``); a vocabulary's name is unique;
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

from crm.i18n import _l


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
    timeline_sentences: dict[str, Any] = field(default_factory=dict)
    code_labels: tuple[str, ...] = ()
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
        api="crm.auth.api:routes",
        jobs="crm.auth.jobs:JOBS",
    ),
    Feature(
        "contacts", "Contacts, companies, custom fields, the timeline and the contact page.",
        models=("crm.contacts.models",),
        blueprints=("crm.contacts.views:bp",),
        api="crm.contacts.api:routes",
        setup="crm.contacts.sentences:init",
        timeline_labels={
            "note": "Note", "contact_created": "Contact created", "imported": "Imported",
            "form_submitted": "Form submitted",
        },
        timeline_sentences={
            "note": _l("%(actor)s added a note"),
            "contact_created": (_l("%(actor)s added %(contact)s (source: %(source)s)"),
                                _l("%(actor)s added %(contact)s")),
            "imported": _l("%(actor)s imported %(contact)s"),
            "form_submitted": (_l("%(contact)s filled in the form on %(page)s"), _l("%(contact)s filled in a form")),
        },
    ),
    Feature(
        "deals", "Deals, stages, product families and deal lines.",
        models=("crm.deals.models",),
        code_labels=("crm.deals.models:CODE_LABELS",),
        blueprints=("crm.deals.views:bp",),
        api="crm.deals.api:routes",
        contact_panels=("crm.deals.views:CONTACT_PANEL", "crm.deals.views:COMPANY_PANEL"),
        timeline_labels={
            "deal_created": "Deal created", "deal_stage_changed": "Deal moved",
            "deal_won": "Deal won", "deal_lost": "Deal lost",
        },
        timeline_sentences={
            "deal_created": (_l("%(actor)s opened %(deal)s, %(amount)s"), _l("%(actor)s opened %(deal)s")),
            "deal_stage_changed": _l("%(actor)s moved %(deal)s from %(from)s to %(to)s"),
            "deal_won": (_l("%(actor)s won %(deal)s, %(amount)s"), _l("%(actor)s won %(deal)s")),
            "deal_lost": (_l("%(actor)s lost %(deal)s: %(reason)s"), _l("%(actor)s lost %(deal)s")),
            "meeting_held": (_l("%(actor)s held a meeting: %(meeting)s, %(duration)s"),
                             _l("%(actor)s held a meeting: %(meeting)s")),
        },
    ),
    Feature(
        "money", "Money in more than one currency: the base currency, dated exchange rates, conversions.",
        models=("crm.money.models",),
        blueprints=("crm.money.views:bp",),
        api="crm.money.api:routes",
        cli="crm.money.cli:currency_group",
        demo="crm.money.demo:seed",
    ),
    Feature(
        "admin", "Administration pages: users, custom fields, the pipeline's stages.",
        blueprints=("crm.admin.views:bp",),
    ),
    Feature(
        "imports", "CSV imports of contacts, companies and deals, queued and resumable.",
        models=("crm.imports.models",),
        code_labels=("crm.imports.models:CODE_LABELS",),
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
        code_labels=("crm.jobs.models:CODE_LABELS",),
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
        code_labels=("crm.sequences.models:CODE_LABELS",),
        blueprints=("crm.sequences.views:bp",),
        api="crm.sequences.api:routes",
        jobs="crm.sequences.jobs:JOBS",
        signals=("crm.sequences.subscribers:connect",),
        job_kinds=("crm.sequences.bulk:JOB_KIND",),
        contact_panels=("crm.sequences.views:CONTACT_PANEL",),
        demo="crm.sequences.demo:seed",
        timeline_labels={
            "sequence_enrolled": "Enrolled in a sequence", "sequence_paused": "Sequence paused",
            "sequence_stopped": "Sequence stopped", "sequence_finished": "Sequence finished",
        },
        timeline_sentences={
            "sequence_enrolled": _l("%(actor)s enrolled %(contact)s in %(sequence)s"),
            "sequence_paused": (_l("%(sequence)s paused until %(until)s: %(reason)s"), _l("%(sequence)s paused")),
            "sequence_stopped": (_l("%(sequence)s stopped: %(reason)s"), _l("%(sequence)s stopped")),
            "sequence_finished": _l("%(contact)s finished %(sequence)s"),
        },
    ),
    Feature(
        "mail", "Outgoing mail (outbox, SMTP), incoming mail (IMAP, webhook), unsubscribes.",
        models=("crm.mail.models",),
        code_labels=("crm.mail.models:CODE_LABELS",),
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
        timeline_sentences={
            "email_sent": (_l("%(actor)s sent %(email)s to %(contact)s"), _l("%(actor)s sent an email to %(contact)s")),
            "email_replied": (_l("%(contact)s replied to %(email)s"), _l("%(contact)s replied")),
            "email_bounced": (_l("%(email)s to %(contact)s bounced"), _l("An email to %(contact)s bounced")),
            "email_failed": (_l("%(email)s could not be sent: %(reason)s"), _l("An email could not be sent")),
            "unsubscribed": _l("%(contact)s unsubscribed"),
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
        timeline_sentences={
            "meeting_booked": (_l("%(contact)s booked %(meeting)s for %(start)s"),
                               _l("%(contact)s booked %(meeting)s")),
            "meeting_cancelled": (_l("%(meeting)s was cancelled"), _l("A meeting was cancelled")),
            "meeting_rescheduled": (_l("%(meeting)s moved to %(start)s"), _l("A meeting was rescheduled")),
        },
        demo="crm.meetings.demo:seed",
    ),
    Feature(
        "calls", "The call queue, time blocks, logging calls, scripts, plan versus actual.",
        models=("crm.calls.models",),
        code_labels=("crm.calls.models:CODE_LABELS",),
        blueprints=("crm.calls.views:bp",),
        api="crm.calls.api:routes",
        jobs="crm.calls.jobs:JOBS",
        signals=("crm.calls.services:connect_signals",),
        contact_panels=("crm.calls.views:CONTACT_PANEL",),
        timeline_labels={"call": "Call"},
        timeline_sentences={
            "call": (_l("%(actor)s called %(contact)s: %(outcome)s, %(duration)s"),
                     _l("%(actor)s called %(contact)s: %(outcome)s"), _l("%(actor)s called %(contact)s")),
        },
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
        code_labels=("crm.tracking.models:CODE_LABELS",),
        blueprints=("crm.tracking.views:bp", "crm.tracking.public_views:bp"),
        api="crm.tracking.api:routes",
        cli="crm.tracking.cli:tracking_cli",
        jobs="crm.tracking.jobs:JOBS",
        job_kinds=("crm.tracking.background:JOB_KIND",),
        contact_panels=("crm.tracking.views:CONTACT_PANEL",),
        timeline_labels={
            "email_opened": "Email opened", "email_clicked": "Link clicked", "page_viewed": "Page viewed",
        },
        timeline_sentences={
            "email_opened": (_l("%(contact)s opened %(email)s"), _l("%(contact)s opened an email")),
            "email_clicked": (_l("%(contact)s clicked %(page)s in %(email)s"), _l("%(contact)s clicked %(page)s")),
            "page_viewed": _l("%(contact)s viewed %(page)s"),
        },
        demo="crm.tracking.demo:seed",
    ),
    Feature(
        "documents", "Tracked documents and videos: a team library, share links per contact, a page-by-page "
                     "viewer and a watch page reporting through the tracking verdicts, forwards that become "
                     "contacts, the {{ video }} email token, analytics.",
        models=("crm.documents.models",),
        blueprints=("crm.documents.views:bp", "crm.documents.public_views:bp"),
        api="crm.documents.api:routes",
        cli="crm.documents.cli:documents_group",
        jobs="crm.documents.jobs:JOBS",
        contact_panels=("crm.documents.views:CONTACT_PANEL",),
        timeline_labels={
            "document_viewed": "Document read", "video_watched": "Video watched",
            "document_forwarded": "Document forwarded",
        },
        demo="crm.documents.demo:seed",
        setup="crm.documents.views:init",
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
        code_labels=("crm.alerts.models:CODE_LABELS",),
        blueprints=("crm.alerts.views:bp",),
        api="crm.alerts.api:routes",
        jobs="crm.alerts.jobs:JOBS",
        demo="crm.alerts.demo:seed",
    ),
    Feature(
        "routing", "Lead routing: who owns a contact a website form creates (territory by country or time zone, "
                   "company owner, round robin), its time zone from the browser or the company, the owner alerted.",
        models=("crm.routing.models",),
        blueprints=("crm.routing.views:bp",),
        signals=("crm.routing.services:connect",),
    ),
    Feature(
        "team", "The manager's team pages: activity per rep and week, pipeline by rep and stage, sequence and "
                "template performance across the team, each with a server-drawn chart and a CSV download.",
        blueprints=("crm.team.views:bp",),
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
        job_kinds=("planning_bridge.figures:FIGURES_KIND",),
        code_labels=("planning_bridge.contracts:CODE_LABELS", "planning_bridge.pages.imports:CODE_LABELS"),
    ),
    Feature(
        "sop", "The S&OP cycle (in the planning bridge): the monthly cycle's five steps, demand overrides, "
               "capacity, the business plan, the published consensus plan, and the plan feedback sales reads.",
        models=("planning_bridge.sop.models",),
        code_labels=("planning_bridge.sop.models:CODE_LABELS", "planning_bridge.sop.review:CODE_LABELS"),
        blueprints=("planning_bridge.sop.views:bp",),
        api="planning_bridge.sop.api:routes",
        jobs="planning_bridge.sop.jobs:JOBS",
        demo="planning_bridge.sop.demo:seed",
        setup="planning_bridge.sop.feedback:init",
    ),
    Feature(
        "supply", "Supply scenarios (in the planning bridge): optimal, chase, level and planner's aggregate plans "
                  "per family as a linear program (SciPy HiGHS), promotion what-ifs, family cost settings and "
                  "the plan chosen in a cycle's supply review.",
        models=("planning_bridge.supply.models",),
        code_labels=("planning_bridge.supply.strategies:CODE_LABELS",),
        blueprints=("planning_bridge.supply.views:bp",),
        api="planning_bridge.supply.api:routes",
        demo="planning_bridge.supply.demo:seed",
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


def code_labels() -> dict[str, dict[str, Any]]:
    """Every feature's vocabularies of code words and their labels (see ``Feature``), by name."""
    found: dict[str, dict[str, Any]] = {}
    for vocabularies in load_all("code_labels"):
        for name, labels in vocabularies.items():
            if name in found:
                raise ValueError(f"two features declare the code labels {name!r}")
            found[name] = labels
    return found


def timeline_sentences() -> dict[str, tuple]:
    """Each kind's sentence templates, as a tuple tried in order (see ``Feature``)."""
    return {kind: sentence if isinstance(sentence, tuple) else (sentence,)
            for entry in FEATURES for kind, sentence in entry.timeline_sentences.items()}
