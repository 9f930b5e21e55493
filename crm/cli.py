"""``flask --app wsgi crm ...``: administration, import, demo data and the worker.
Each command parses its arguments, calls a service, commits. The group speaks the operator's
language (``crm.i18n.OperatorLanguageGroup``: ``CRM_LANGUAGE``, else the POSIX locale), and so
do the features' groups added under it."""
from __future__ import annotations

import copy
import sys

import click
from flask import current_app
from werkzeug.serving import run_simple

from crm.auth import services as auth_services
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import OperatorLanguageGroup, _, _l, cli_option, ngettext
from crm.scheduler import build_scheduler, freeze_startup_objects, job_table
from crm.timeutil import utcnow

crm_cli = OperatorLanguageGroup(
    "crm",
    help=_l("CRM administration, imports, demo data and the worker.\n\n"
            "Run with CRM_CONFIG=development on a laptop; production needs SECRET_KEY (see README.md)."),
)


def _fail(exc: ServiceError) -> None:
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


@crm_cli.command("create-user", help=_l(
    "Create a user. The password is read from standard input (never from an argument, which "
    "would land in the shell history)."))
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["rep", "manager", "planner", "finance", "admin"]))
@click.option("--name", default="")
@cli_option("--manager", "manager_email", default=None, help=_l("For a rep: the manager's email."))
@click.option("--time-zone", default="UTC")
@cli_option("--password-stdin", is_flag=True, help=_l("Read the password from standard input."))
def create_user_command(email, role, name, manager_email, time_zone, password_stdin):
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    try:
        manager_id = auth_services.get_user_by_email(manager_email).id if manager_email else None
        user = auth_services.create_user(
            email, role, password, name=name, manager_id=manager_id, time_zone=time_zone
        )
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo(_("created %(role)s %(email)s (id %(id)s)", role=user.role, email=user.email, id=user.id))


@crm_cli.command("create-token", help=_l(
    "Create an API token and print it on its own line (shown once, stored hashed)."))
@click.argument("email")
@cli_option("--name", default="cli", help=_l("A label to recognise the token by."))
def create_token_command(email, name):
    try:
        user = auth_services.get_user_by_email(email)
        _token, secret = auth_services.create_api_token(user, name, utcnow())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo(secret)  # for scripts: the token alone


@crm_cli.command("worker", help=_l("Run the scheduler (exactly one per deployment)."))
def worker_command():
    scheduler = build_scheduler(current_app._get_current_object(), blocking=True)
    freeze_startup_objects()
    click.echo(ngettext("worker: %(num)s job; Ctrl-C stops", "worker: %(num)s jobs; Ctrl-C stops",
                        len(scheduler.get_jobs())))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@crm_cli.command("serve", help=_l(
    "Development server; with SCHEDULER_IN_PROCESS the worker's jobs run inside it too."))
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve_command(host, port):
    app = current_app._get_current_object()
    if app.config.get("SCHEDULER_IN_PROCESS"):
        scheduler = build_scheduler(app, blocking=False)
        scheduler.start()
        click.echo(ngettext("scheduler running in-process with %(num)s job",
                            "scheduler running in-process with %(num)s jobs",
                            len(scheduler.get_jobs())))
    # Flask refuses app.run() inside a CLI command; werkzeug's server is what it would run.
    run_simple(host, port, app, threaded=True, use_reloader=False)


@crm_cli.command("jobs", help=_l(
    "List the worker's job table: every feature's periodic jobs (from crm/features.py)."))
def jobs_command():
    for job in job_table():  # ids, triggers and functions: names, nothing to translate
        click.echo(f"{job.id:<32} {job.trigger}  {job.func.__module__}.{job.func.__qualname__}")


def build_cli(feature_commands: list[click.Command]) -> OperatorLanguageGroup:
    """The ``crm`` group of one app: the core commands above plus each feature's group from the
    manifest. A copy, so building an app never changes ``crm_cli`` for another app."""
    group = copy.copy(crm_cli)
    group.commands = dict(crm_cli.commands)
    for command in feature_commands:
        group.add_command(command)
    return group
