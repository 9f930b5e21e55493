"""Translations and locale (issue #17): Flask-Babel with gettext catalogues under
``crm/translations/`` (``make translations``: extract, update, compile). Everything
user-visible is marked:

- in templates: ``{{ _('Log call') }}``, ``{{ _('%(n)s calls', n=count) }}``, ``ngettext``;
- in Python at request time: ``from crm.i18n import _`` (``gettext``);
- in Python at import time (form labels, module-level messages): ``from crm.i18n import _l``
  (``lazy_gettext``: translated when rendered, in the reader's language).

Who reads which language:

- a signed-in user: their own ``language`` (account page, ``PATCH /api/v1/me``);
- a visitor of a public page (booking, unsubscribe): ``?lang=es`` (the switcher, remembered
  in the ``crm_lang`` cookie), else their ``Accept-Language`` among the supported languages;
- mail to a contact: the contact's ``language``, else its owner's (``language_for_contact``;
  rendered inside ``force_language``).

A language is a tag: ``en``, ``es``, or regional (``es-MX``, ``es-ES``, ``en-US``,
``en-GB``). Its language part picks the catalogue; the whole tag picks the number and date
conventions (``crm.web.formatting``; a bare ``es`` reads as Mexican Spanish, ``en`` as US).
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, gettext, lazy_gettext, ngettext

SUPPORTED_LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
# The tags a user may choose (value, name in its own language): the select on the account page.
LANGUAGE_CHOICES = (
    ("en", "English"),
    ("en-GB", "English (United Kingdom)"),
    ("es", "Español (México)"),
    ("es-ES", "Español (España)"),
)
LANGUAGE_TAGS = tuple(tag for tag, _name in LANGUAGE_CHOICES)
# Regional tags a visitor's browser may send that we keep for formats.
ACCEPTED_TAGS = ("en", "en-US", "en-GB", "es", "es-MX", "es-ES", "es-419", "es-US")
LANGUAGE_COOKIE = "crm_lang"
LANGUAGE_PARAM = "lang"

_ = gettext
_l = lazy_gettext


def N_(message: str) -> str:  # noqa: N802  (gettext's name for it)
    """Marks a string for the catalogue without translating it: data that is stored or
    compared in English (a label kept in an activity's details) and translated where shown
    with ``_(label)``."""
    return message
__all__ = ["_", "_l", "N_", "ngettext", "init_app", "SUPPORTED_LANGUAGES", "select_locale",
           "normalize_language", "language_of", "force_language", "language_for_contact", "code_label"]

babel = Babel()


def language_of(tag: str | None) -> str | None:
    """The catalogue language of a tag ('es-MX' -> 'es'); None when not supported."""
    if not tag:
        return None
    base = str(tag).replace("_", "-").split("-")[0].strip().lower()
    return base if base in SUPPORTED_LANGUAGES else None


def normalize_language(tag: str | None) -> str | None:
    """A tag as stored: 'es_mx' -> 'es-MX', 'ES' -> 'es'; None when its language is not one
    we have (the caller decides whether that is an error)."""
    base = language_of(tag)
    if base is None:
        return None
    parts = str(tag).replace("_", "-").split("-")
    region = parts[1].upper() if len(parts) > 1 and parts[1].isalpha() and len(parts[1]) == 2 else ""
    return f"{base}-{region}" if region else base


def _visitor_tag() -> str:
    """A visitor's language: the switcher's ``?lang=``, its cookie, then Accept-Language."""
    for candidate in (request.args.get(LANGUAGE_PARAM), request.cookies.get(LANGUAGE_COOKIE)):
        tag = normalize_language(candidate)
        if tag:
            return tag
    best = request.accept_languages.best_match(ACCEPTED_TAGS)
    if best:
        return normalize_language(best) or DEFAULT_LANGUAGE
    # A browser sending only "es-AR" or "en-IN" still gets its language.
    for value, _quality in request.accept_languages:
        tag = language_of(value)
        if tag:
            return tag
    return DEFAULT_LANGUAGE


def browser_language() -> str | None:
    """The language a visitor's browser asks for, when we have it (a new contact from a form
    or a booking gets it); None without a request or without a language of ours."""
    if not has_request_context():
        return None
    best = request.accept_languages.best_match(ACCEPTED_TAGS)
    if best:
        return as_choice(best)
    for value, _quality in request.accept_languages:
        if language_of(value):
            return language_of(value)
    return None


def as_choice(tag: str | None) -> str | None:
    """The chooser's tag closest to ``tag``: 'es-MX' and other American Spanish -> 'es',
    'en-US' -> 'en', 'es-ES' and 'en-GB' kept; None for a language we do not have."""
    normal = normalize_language(tag)
    if normal in LANGUAGE_TAGS or normal is None:
        return normal
    return language_of(normal)


def visitor_chose_language() -> bool:
    """Whether a visitor picked a language with the switcher (``?lang=`` or its cookie)."""
    if not has_request_context():
        return False
    return bool(normalize_language(request.args.get(LANGUAGE_PARAM))
                or normalize_language(request.cookies.get(LANGUAGE_COOKIE)))


@contextmanager
def public_page_language(contact):
    """A public page about one contact (their unsubscribe page): the switcher's choice, else
    the contact's own language, else the visitor's Accept-Language."""
    tag = None
    if contact is not None and not visitor_chose_language():
        tag = normalize_language(getattr(contact, "language", None))
    if tag is None:
        yield
        return
    with force_language(tag):
        yield


def select_format_locale() -> str:
    """The whole tag of the current request (for number and date conventions)."""
    forced = g.get("crm_locale") if has_request_context() else None
    if forced:
        return forced
    if not has_request_context():
        return DEFAULT_LANGUAGE
    user = g.get("_login_user") or g.get("api_user")
    tag = normalize_language(getattr(user, "language", None)) if user is not None else None
    if tag and getattr(user, "is_authenticated", True):
        return tag
    return _visitor_tag()


def select_locale() -> str:
    """The catalogue Flask-Babel loads for this request ('en' or 'es')."""
    return language_of(select_format_locale()) or DEFAULT_LANGUAGE


@contextmanager
def force_language(tag: str | None):
    """Render something (a mail, an invite) in another reader's language, e.g. a contact's
    while their rep's request is the one running."""
    tag = normalize_language(tag) or DEFAULT_LANGUAGE
    if not has_request_context():
        from flask import current_app

        with current_app.test_request_context():
            with force_language(tag):
                yield
        return
    previous = g.get("crm_locale")
    g.crm_locale = tag
    try:
        with force_locale(language_of(tag) or DEFAULT_LANGUAGE):
            yield
    finally:
        g.crm_locale = previous


def language_for_contact(contact) -> str:
    """The language mail to a contact is written in: theirs, else their owner's, else English."""
    own = normalize_language(getattr(contact, "language", None))
    if own:
        return own
    owner = getattr(contact, "owner", None)
    return normalize_language(getattr(owner, "language", None)) or DEFAULT_LANGUAGE


def compile_catalogues(directory: str) -> list[str]:
    """Compile every ``<lang>/LC_MESSAGES/messages.po`` under ``directory`` whose ``.mo`` is
    missing or older (what ``make install`` does with ``pybabel compile``), so a fresh clone
    run by ``flask`` or pytest alone still reads Spanish. Fuzzy entries are left out, as
    pybabel does. Written to a temporary file and renamed: two processes may start at once.
    Returns the catalogues compiled; a read-only install keeps what it has."""
    import os
    import tempfile
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
            with os.fdopen(handle, "wb") as mo_file:
                write_mo(mo_file, catalog, use_fuzzy=False)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; a catalogue is not
            os.replace(temporary, mo_path)
            compiled.append(str(mo_path))
        except OSError:
            continue
    return compiled


def code_label(code, vocabulary: str) -> str:
    """A code word as people read it, in their language: a deal's status ``won`` reads "Won" /
    "Ganado". Data and the API keep the code; pages and sentences show this. Each feature
    declares its vocabularies in the manifest (``Feature.code_labels``: ``{vocabulary: {code:
    _l(label)}}``); a code a vocabulary does not list reads as itself, underscores as spaces.
    In templates: ``{{ deal.status|label('deal_status') }}``."""
    if code is None:
        return ""
    labels = current_app.extensions.get("crm_code_labels", {}).get(vocabulary, {}) if has_app_context() else {}
    label = labels.get(code)
    return str(label) if label is not None else str(code).replace("_", " ")


def switch_language_url(tag: str) -> str:
    """The current page in another language: the switcher on public pages."""
    from flask import url_for

    args = {**request.args.to_dict(), LANGUAGE_PARAM: tag}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    import os

    app.add_template_global(switch_language_url, "switch_language_url")
    app.add_template_filter(code_label, "label")
    app.add_template_global(code_label, "code_label")

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")  # relative to app.root_path (crm/)
    babel.init_app(app, locale_selector=select_locale)
    for directory in app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";"):
        compile_catalogues(os.path.join(app.root_path, directory))

    @app.context_processor
    def inject_language():
        from flask_babel import get_locale

        locale = get_locale()
        tag = select_format_locale() if has_request_context() else DEFAULT_LANGUAGE
        language = locale.language if locale is not None else DEFAULT_LANGUAGE
        return {
            # es-MX for a Mexican reader; the catalogue's language if the two ever disagree.
            "html_lang": tag if language_of(tag) == language else language,
            "language_choices": LANGUAGE_CHOICES,
            "language_param": LANGUAGE_PARAM,
        }

    @app.after_request
    def remember_visitor_language(response):
        """The public pages' switcher: ``?lang=es`` sticks for the visitor's next pages."""
        chosen = normalize_language(request.args.get(LANGUAGE_PARAM))
        if chosen and request.cookies.get(LANGUAGE_COOKIE) != chosen:
            response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600,
                                samesite="Lax", secure=request.is_secure, httponly=True)
        return response
