"""``flask --app wsgi crm mail ...``: run the send tick or an IMAP poll by hand (the worker
runs both on a schedule)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

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
    """Poll every mailbox with IMAP settings once."""
    click.echo(poll_all(utcnow()))
