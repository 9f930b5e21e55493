"""Mail: outbound SMTP, inbound classification and the IMAP poller.

Owns how sequence emails leave (``outbound``) and what comes back (``inbound``: a pure
classifier deciding reply / auto-reply / bounce / unsubscribe request / other from a raw
RFC 822 message, fed by the IMAP poller and the inbound-mail webhook). Called by the
sequences feature and the worker's jobs.
"""
