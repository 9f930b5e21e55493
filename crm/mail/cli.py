"""``flask --app wsgi crm mail ...``: run the send tick or an IMAP poll by hand (the worker
runs both on a schedule)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.extensions import db
from crm.i18n import _, _l, cli_option, ngettext
from crm.mail.imap_accounts import rotate_credentials
from crm.mail.inbound.imap import poll_all
from crm.mail.outbound.sender import send_due
from crm.timeutil import utcnow

mail_group = AppGroup("mail", help=_l("Outbox sending and inbound mail polling."))


@mail_group.command("send-due", help=_l("Claim and send the due outbox messages once (or until none is due)."))
@cli_option("--until-empty", is_flag=True, help=_l("Tick until nothing due is left."))
def send_due_command(until_empty):
    while True:
        result = send_due(utcnow())
        click.echo(_("sent %(sent)s, failed %(failed)s, retried %(retried)s, deferred %(deferred)s, "
                     "reclaimed %(reclaimed)s", sent=result.sent, failed=result.failed, retried=result.retried,
                     deferred=result.deferred, reclaimed=result.reclaimed))
        if not until_empty or not (result.sent or result.reclaimed):
            break


@mail_group.command("poll", help=_l(
    "Poll every connected mailbox once; exits 1 when any mailbox failed (each one says why)."))
def poll_command():
    result = poll_all(utcnow())
    for poll in result.polls:  # one line each, as MailboxPoll.describe() writes it, translated
        click.echo(_describe(poll), err=bool(poll.error))
    for poll in result.polls:  # messages skipped inside mailboxes that otherwise polled
        for note in poll.skipped:
            click.echo(_("mailbox %(id)s (%(label)s): %(note)s", id=poll.mailbox_id, label=poll.label, note=note),
                       err=True)
    click.echo(", ".join((ngettext("%(num)s mailbox", "%(num)s mailboxes", len(result.polls)),
                          ngettext("%(num)s message read", "%(num)s messages read", result.fetched),
                          ngettext("%(num)s problem", "%(num)s problems", len(result.errors)))))
    if result.errors:
        raise SystemExit(1)


def _describe(poll) -> str:
    label = {"id": poll.mailbox_id, "label": poll.label}
    if poll.error:
        return _("mailbox %(id)s (%(label)s): FAILED: %(error)s", error=poll.error, **label)
    if poll.skipped:
        return _("mailbox %(id)s (%(label)s): %(read)s read, %(seen)s already seen, %(skipped)s skipped",
                 read=poll.fetched, seen=poll.duplicates, skipped=len(poll.skipped), **label)
    return _("mailbox %(id)s (%(label)s): %(read)s read, %(seen)s already seen",
             read=poll.fetched, seen=poll.duplicates, **label)


@mail_group.command("rotate-credentials", help=_l(
    "Encrypt every stored mailbox password again with the newest MAIL_CREDENTIALS_KEY."))
def rotate_credentials_command():
    report = rotate_credentials(utcnow())
    db.session.commit()
    click.echo(ngettext("%(num)s password re-encrypted, %(unreadable)s unreadable (those accounts now ask their "
                        "rep to enter the password again)",
                        "%(num)s passwords re-encrypted, %(unreadable)s unreadable (those accounts now ask their "
                        "rep to enter the password again)", report.rotated, unreadable=report.unreadable))
    if report.unreadable:
        raise SystemExit(1)
