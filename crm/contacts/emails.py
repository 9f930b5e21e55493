"""Email address normalisation and the free-mail domain list."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

_FREEMAIL_FILE = Path(__file__).with_name("freemail_domains.txt")


def normalize_email(raw: str) -> str:
    """Validate (syntax only, no DNS) and normalise an address: trimmed, domain in IDNA-normal
    form, and the whole address lower-cased, because reps and imports type it every which way
    and duplicates by case are the most common CRM data bug.

    :raises ValueError: with a human-readable reason
    """
    if raw is None or not str(raw).strip():
        raise ValueError("email is required")
    try:
        info = validate_email(str(raw).strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return info.normalized.lower()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


@lru_cache(maxsize=1)
def freemail_domains() -> frozenset[str]:
    lines = _FREEMAIL_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_freemail(domain: str) -> bool:
    return domain.lower() in freemail_domains()
