"""Password hashing (argon2id) and the password policy.

argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4),
above OWASP ASVS 5.0's minimum; Werkzeug's default scrypt parameters are not.
"""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from argon2 import profiles

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


def configure_hasher(profile: str) -> None:
    """Pick the argon2id cost. Production keeps RFC 9106's low-memory profile; the test
    suite uses argon2-cffi's own cheap test profile (still argon2id) to stay fast."""
    global _hasher, _DUMMY_HASH
    params = {"rfc9106_low_memory": profiles.RFC_9106_LOW_MEMORY, "test": profiles.CHEAPEST}[profile]
    _hasher = PasswordHasher.from_parameters(params)
    # A hash to verify against when the user does not exist, so timing does not reveal accounts.
    _DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from public breach corpora.
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, min_length: int, *, email: str = "") -> list[str]:
    problems = []
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters")
    if len(password) > 256:
        problems.append("must be at most 256 characters")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.rstrip("0123456789!") in _common_passwords():
        problems.append("is too common; choose a less guessable password")
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        problems.append("must not contain your email address")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
