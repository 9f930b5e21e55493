"""What sign-in, passwords and sessions say to people, in one place.

Why a module of constants: so the texts can go to a translation catalogue later without
hunting through views and services. Each is a whole sentence with named placeholders; code
picks a sentence and fills it, and never glues pieces of one sentence together. A count picks
between whole sentences through ``plural`` (the shape of gettext's ``ngettext``, which can
replace it). Joining two complete sentences with a space is as far as composition goes.

zxcvbn's own warnings and suggestions (shown as the reasons a password is too weak) are
English texts that zxcvbn already wraps in gettext, so a catalogue can translate them too.
"""
from __future__ import annotations

from crm.i18n import _l

# --- the password policy (crm.auth.passwords) --------------------------------------------------
PASSWORD_TOO_SHORT = _l("The password must be at least {min_length} characters long.")
PASSWORD_TOO_LONG = _l("The password must be at most {max_length} characters long.")
PASSWORD_TOO_COMMON = _l("This password is too common: it is on a list of the most used passwords.")
PASSWORD_CONTAINS_EMAIL = _l("The password must not contain your email address.")
PASSWORD_TOO_GUESSABLE = _l("This password is too easy to guess.")
PASSWORD_SAME_AS_CURRENT = _l("The new password must be different from the current one.")
PASSWORD_REFUSED = _l("Choose a stronger password.")
PASSWORD_HINT = (
    _l("At least {min_length} characters. A few unusual words are easier to remember and harder "
    "to guess than symbols.")
)

# --- changing or setting a password ------------------------------------------------------------
WRONG_CURRENT_PASSWORD = _l("Wrong password.")
PASSWORDS_DIFFER = _l("The two new passwords are not the same.")
NO_RESET_PENDING = _l("Your password does not need to be reset.")
PASSWORD_CHANGED = _l("Password changed.")
NEW_PASSWORD_SET = _l("New password set. Welcome back.")
# What a change ended, said to the user who changed it (their current session stays).
OTHER_SESSIONS_ENDED = (
    _l("No other session was signed in."),
    _l("{count} other session was signed out."),
    _l("{count} other sessions were signed out."),
)
OWN_TOKENS_REVOKED = (
    _l("You had no API tokens."),
    _l("Your API token was revoked; create a new one for your scripts."),
    _l("All {count} of your API tokens were revoked; create new ones for your scripts."),
)

# --- an administrator forcing a reset (crm.admin) ----------------------------------------------
FORCE_RESET_ADMIN_ONLY = _l("Only administrators may force a password reset.")
FORCE_RESET_OWN_ACCOUNT = _l("Change your own password on your account page instead.")
FORCE_RESET_DONE = _l("{name} must choose a new password at their next sign-in.")
THEIR_SESSIONS_ENDED = (
    _l("They had no open session."),
    _l("{count} session was signed out."),
    _l("{count} sessions were signed out."),
)
THEIR_TOKENS_REVOKED = (
    _l("They had no API tokens."),
    _l("{count} API token was revoked."),
    _l("{count} API tokens were revoked."),
)


def plural(forms: tuple[str, str, str], count: int) -> str:
    """The sentence for ``count`` out of (none, one, many), with ``{count}`` filled in."""
    sentence = forms[0] if count == 0 else forms[1] if count == 1 else forms[2]
    return str(sentence).format(count=count)
