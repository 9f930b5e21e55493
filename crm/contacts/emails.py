"""Email domains and the free-mail domain list (address normalisation is the kernel's
``crm.validation.normalize_email``, re-exported here)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from crm.validation import normalize_email  # noqa: F401  (re-exported)

_FREEMAIL_FILE = Path(__file__).with_name("freemail_domains.txt")


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


@lru_cache(maxsize=1)
def freemail_domains() -> frozenset[str]:
    lines = _FREEMAIL_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_freemail(domain: str) -> bool:
    return domain.lower() in freemail_domains()
