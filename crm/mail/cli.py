"""``flask --app wsgi crm mail ...``: run the send tick or an IMAP poll by hand (the worker
runs both on a schedule)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.extensions import db
from crm.mail.imap_accounts import rotate_credentials
from crm.mail.inbound.imap import poll_all
from crm.mail.outbound.sender import send_due
from crm.timeutil import utcnow

mail_group = AppGroup("mail", help="Outbox sending and inbound mail polling.")


@mail_group.command("send-due")
@click.option("--until-empty", is_flag=True, help="Tick until nothing due is left.")
def send_due_command(until_empty):
    """Claim and send the due outbox messages once (or until none is due)."""
    while True:
        result = send_due(utcnow())
        click.echo(f"sent {result.sent}, failed {result.failed}, retried {result.retried}, "
                   f"deferred {result.deferred}, reclaimed {result.reclaimed}")
        if not until_empty or not (result.sent or result.reclaimed):
            break


@mail_group.command("poll")
def poll_command():
    """Poll every connected mailbox once; exits 1 when any mailbox failed (each one says why)."""
    result = poll_all(utcnow())
    for poll in result.polls:
        click.echo(poll.describe(), err=bool(poll.error))
    for note in (error for error in result.errors if "FAILED" not in error):
        click.echo(note, err=True)  # messages skipped inside mailboxes that otherwise polled
    click.echo(f"{len(result.polls)} mailboxes, {result.fetched} messages read, {len(result.errors)} problems")
    if result.errors:
        raise SystemExit(1)


@mail_group.command("rotate-credentials")
def rotate_credentials_command():
    """Encrypt every stored mailbox password again with the newest MAIL_CREDENTIALS_KEY."""
    report = rotate_credentials(utcnow())
    db.session.commit()
    click.echo(f"{report.rotated} passwords re-encrypted, {report.unreadable} unreadable "
               "(those accounts now ask their rep to enter the password again)")
    if report.unreadable:
        raise SystemExit(1)
