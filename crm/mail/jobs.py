"""Worker jobs of the mail feature: the send tick (every few seconds) and IMAP polling."""
from __future__ import annotations

from crm.mail.inbound.imap import poll_all
from crm.mail.outbound.sender import send_due
from crm.scheduler import IntervalTrigger, Job


def send_due_mail(now):
    return send_due(now) or None


def poll_mailboxes(now):
    return poll_all(now) or None


# Intervals are fixed here (jobs are built before an app exists); MAIL_SEND_BATCH and the
# limits are read from the app's config on every tick.
JOBS: list = [
    Job("mail-send-due", send_due_mail, IntervalTrigger(seconds=5)),
    Job("mail-imap-poll", poll_mailboxes, IntervalTrigger(seconds=60)),
]
