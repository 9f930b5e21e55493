"""Outbound mail: the outbox, the claiming send tick, per-mailbox limits."""
