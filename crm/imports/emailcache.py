"""Faster email validation for imports: the domain half of each check is memoised.

Every imported row is validated by ``crm.validation.normalize_email`` (email-validator),
as a hand-typed contact is. Two thirds of that check is the domain part (IDNA / UTS-46 rules,
character by character), and an import repeats the same few thousand company domains a
hundred thousand times. email-validator's domain check is a pure function of its arguments
whose result is only read, so for the duration of an import it is wrapped in an LRU cache:
same validation, same messages, same normalised result, a fraction of the time.
Nothing is reimplemented; if email-validator's layout changes, the cache is simply not used.

The other third is ``split_email``, which walks the address a character at a time (Unicode
normalisation at each position) to find an unquoted ``@`` outside a display name. For a plain
ASCII address with no quote and no angle bracket there is nothing to find but the first ``@``:
its result is ``(None, local, local, False, domain)``, which is what the wrapper returns for
exactly that case (checked against the original in tests/crm/imports/test_emailcache.py);
anything else goes to the original.
"""
from __future__ import annotations

import logging
import re
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import email_validator  # noqa: F401  (loads email_validator.validate_email, patched below)

log = logging.getLogger(__name__)

CACHE_SIZE = 20_000
# Printable ASCII without space, quote or angle bracket: no display name, no quoted local part,
# no combining characters, so the split is at the first "@".
PLAIN_ADDRESS = re.compile(r'[!#-;=?-~]+@[!#-;=?-~]*')

_lock = threading.Lock()
_users = 0
_original = None
_original_split = None


def plain_split(original):
    """``split_email`` answering plain addresses itself (see the module docstring)."""

    def split_email(email: str):
        if PLAIN_ADDRESS.fullmatch(email):
            local, _at, domain = email.partition("@")
            return None, local, local, False, domain
        return original(email)

    split_email.__wrapped__ = original
    return split_email


def _target_module():
    # The submodule (the package re-exports a function of the same name, hiding it as an attribute).
    module = sys.modules.get("email_validator.validate_email")
    if module is None:  # pragma: no cover - layout changed
        return None
    if not callable(getattr(module, "validate_email_domain_name", None)):
        return None
    if not callable(getattr(module, "split_email", None)):
        return None
    return module


@contextmanager
def memoized_domain_checks() -> Iterator[None]:
    """Cache email-validator's domain checks while at least one import runs in this process."""
    global _users, _original, _original_split
    module = _target_module()
    if module is None:
        log.warning("email-validator layout changed: imports validate every domain in full")
        yield
        return
    with _lock:
        if _users == 0:
            _original = module.validate_email_domain_name
            module.validate_email_domain_name = lru_cache(maxsize=CACHE_SIZE)(_original)
            _original_split = module.split_email
            module.split_email = plain_split(_original_split)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                module.validate_email_domain_name = _original
                module.split_email = _original_split
                _original = _original_split = None
_original_split = None
