"""Password hashing (argon2id) and the password policy (length, common-password list, zxcvbn).

argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4),
above OWASP ASVS 5.0's minimum; Werkzeug's default scrypt parameters are not.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from crm.auth import messages

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


# The strength zxcvbn must estimate (0-4). 3 is "safely unguessable: moderate protection from an
# offline slow-hash scenario" (about 10^10 guesses), which argon2id hashes are.
MIN_ZXCVBN_SCORE = 3
MAX_PASSWORD_LENGTH = 256
# zxcvbn's matching grows faster than linearly with length, and it refuses more than this by
# default: only this many leading characters are scored. A weak start with a strong tail is
# refused; a strong start is strong whatever follows.
_ZXCVBN_SCORED_LENGTH = 72
# zxcvbn keeps the user inputs of the call in a module-level dictionary while it scores, so
# two threads scoring at once could each score against the other's inputs.
_zxcvbn_lock = threading.Lock()


def _user_inputs(email: str, name: str) -> list[str]:
    """Words from the user's own identity that an attacker would try first."""
    local, _, domain = email.lower().partition("@")
    words = {email.lower(), local, domain, domain.split(".")[0], name.lower()}
    words.update(re.split(r"[\W_]+", f"{local} {name.lower()}"))
    return sorted(word for word in words if len(word) >= 3)


def password_strength(password: str, *, email: str = "", name: str = "") -> tuple[int, str, list[str]]:
    """zxcvbn's score (0-4), warning and suggestions for ``password``, with the user's email
    and name counted as words an attacker knows."""
    with _zxcvbn_lock:
        result = zxcvbn(password[:_ZXCVBN_SCORED_LENGTH], user_inputs=_user_inputs(email, name))
    return result["score"], result["feedback"]["warning"], list(result["feedback"]["suggestions"])


def password_problems(password: str, min_length: int, *, email: str = "", name: str = "") -> list[str]:
    """Why ``password`` is refused, as whole sentences for the user (empty: accepted).

    A length floor, the common-password list (also with trailing digits or ``!`` removed:
    ``password1234`` is ``password`` with a counter), no email local part, then zxcvbn's
    estimate (score at least ``MIN_ZXCVBN_SCORE``) with its warning and suggestions as the
    reasons: repeats (``aaaaaaaaaaaa``), sequences (``123456789012``), keyboard rows."""
    problems = []
    if len(password) < min_length:
        problems.append(messages.PASSWORD_TOO_SHORT.format(min_length=min_length))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(messages.PASSWORD_TOO_LONG.format(max_length=MAX_PASSWORD_LENGTH))
        return problems  # not worth scoring
    lowered = password.lower()
    common = lowered in _common_passwords() or lowered.rstrip("0123456789!") in _common_passwords()
    if common:
        problems.append(str(messages.PASSWORD_TOO_COMMON))
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        problems.append(str(messages.PASSWORD_CONTAINS_EMAIL))
    if not password:
        return problems
    score, warning, suggestions = password_strength(password, email=email, name=name)
    if score < MIN_ZXCVBN_SCORE:
        problems.append(str(messages.PASSWORD_TOO_GUESSABLE))
        # On a listed password zxcvbn's warning repeats what the list check said.
        if warning and not common:
            problems.append(warning)
        problems.extend(suggestions)
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
