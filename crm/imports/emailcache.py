"""Faster email validation for imports: the domain half of each check is memoised.

Every imported row is validated by ``crm.validation.normalize_email`` (email-validator),
as a hand-typed contact is. Two thirds of that check is the domain part (IDNA / UTS-46 rules,
character by character), and an import repeats the same few thousand company domains a
hundred thousand times. email-validator's domain check is a pure function of its arguments
whose result is only read, so for the duration of an import it is wrapped in an LRU cache:
same validation, same messages, same normalised result, a fraction of the time.
Nothing is reimplemented; if email-validator's layout changes, the cache is simply not used.
"""
from __future__ import annotations

import logging
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import email_validator  # noqa: F401  (loads email_validator.validate_email, patched below)

log = logging.getLogger(__name__)

CACHE_SIZE = 20_000

_lock = threading.Lock()
_users = 0
_original = None


def _target_module():
    # The submodule (the package re-exports a function of the same name, hiding it as an attribute).
    module = sys.modules.get("email_validator.validate_email")
    if module is None:  # pragma: no cover - layout changed
        return None
    if not callable(getattr(module, "validate_email_domain_name", None)):
        return None
    return module


@contextmanager
def memoized_domain_checks() -> Iterator[None]:
    """Cache email-validator's domain checks while at least one import runs in this process."""
    global _users, _original
    module = _target_module()
    if module is None:
        log.warning("email-validator layout changed: imports validate every domain in full")
        yield
        return
    with _lock:
        if _users == 0:
            _original = module.validate_email_domain_name
            module.validate_email_domain_name = lru_cache(maxsize=CACHE_SIZE)(_original)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                module.validate_email_domain_name = _original
                _original = None
