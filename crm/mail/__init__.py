"""Mail: the outbox and how messages leave (SMTP), what comes back (IMAP, the webhook) and
unsubscribing.

Owns: the mailboxes (a rep's sending identity and limits), the outbox (``outbound_emails``:
every message we send, scheduled or sent; ``outbound/``: enqueue, the claiming send tick, the
MIME writer, DKIM), the inbound log (``inbound_messages``; ``inbound/``: the pure classifier, the
matching and its effects, the IMAP poller) and unsubscribe tokens (``unsubscribe.py``).

Offers (``services.py``): ``enqueue_email`` and ``cancel_queued_for_enrollment`` (sequences),
``enqueue_invite`` (meetings' invitations, queued in the booking's transaction), ``send_later``,
``retry_email`` / ``cancel_email`` (a failed one), ``process_inbound``, ``unsubscribe_contact``,
``mailbox_signature``. Announces in ``crm/signals.py``:
``emails_sent``, ``email_failed``, ``email_bounced``, ``reply_received``,
``out_of_office_received``, ``contact_unsubscribed`` (sequences subscribe).

Answers tracking through signals (``engagement.py``: the email an open or click was on, its
first human open / click, recently sent emails); mail itself calls ``crm.tracking.services`` to
instrument what it sends.

Called by: sequences (the outbox), meetings (invitations), the worker's jobs (send tick, IMAP
poll), the app factory (``engagement.connect_signals``), its pages, API and ``flask crm mail``.
"""
