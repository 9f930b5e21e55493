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
  rendered inside ``force_language``);
- whoever runs a command line (``flask --app wsgi crm ...``, ``... planning ...``): the
  operator's language (``operator_language``: ``CRM_LANGUAGE``, else the POSIX locale
  ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), applied once for every command by their group
  (``OperatorLanguageGroup``), messages and ``--help`` alike.

A language is a tag: ``en``, ``es``, or regional (``es-MX``, ``es-ES``, ``en-US``,
``en-GB``). Its language part picks the catalogue; the whole tag picks the number and date
conventions (``crm.web.formatting``; a bare ``es`` reads as Mexican Spanish, ``en`` as US).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack, contextmanager

import click
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask.cli import AppGroup, ScriptInfo
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
# The command line's language: this variable, else the POSIX locale variables in their order.
LANGUAGE_ENV = "CRM_LANGUAGE"
LOCALE_ENV = ("LC_ALL", "LC_MESSAGES", "LANG")

_ = gettext
_l = lazy_gettext


def N_(message: str) -> str:  # noqa: N802  (gettext's name for it)
    """Marks a string for the catalogue without translating it: data that is stored or
    compared in English (a label kept in an activity's details) and translated where shown
    with ``_(label)``."""
    return message
__all__ = ["_", "_l", "N_", "ngettext", "init_app", "SUPPORTED_LANGUAGES", "select_locale",
           "normalize_language", "language_of", "force_language", "language_for_contact",
           "operator_language", "speaking", "OperatorLanguageGroup", "TranslatedHelpOption", "cli_option",
           "code_label"]

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
    """The whole tag of the current request (for number and date conventions); outside a
    request, the language something runs in (``speaking``: a command line), else English."""
    forced = g.get("crm_locale") if has_app_context() else None
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
        with current_app.test_request_context():
            with speaking(tag):
                yield
        return
    with speaking(tag):
        yield


@contextmanager
def speaking(tag: str | None):
    """Everything translated or formatted inside reads in ``tag``'s language and conventions,
    within the current app context (a request's, or a command line's, which has no request):
    the catalogue through Flask-Babel's ``force_locale``, the formats through ``g.crm_locale``.
    Both are put back afterwards, so nothing leaks into the rest of the context."""
    tag = normalize_language(tag) or DEFAULT_LANGUAGE
    previous = g.get("crm_locale")
    g.crm_locale = tag
    try:
        with force_locale(language_of(tag) or DEFAULT_LANGUAGE):
            yield
    finally:
        g.crm_locale = previous


def operator_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of whoever runs a command line: ``CRM_LANGUAGE`` when set (``es``,
    ``es-MX``, ``en``; a language we do not have reads English), else the POSIX locale, as
    every program reads it: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set and
    not empty (``es_MX.UTF-8`` -> ``es-MX``; ``C``, ``POSIX`` or a language we do not have ->
    English)."""
    environ = os.environ if environ is None else environ
    value = (environ.get(LANGUAGE_ENV) or "").strip()
    if not value:
        value = next((environ[name].strip() for name in LOCALE_ENV if (environ.get(name) or "").strip()), "")
    # language[_territory][.codeset][@modifier]
    return normalize_language(value.split(".")[0].split("@")[0]) or DEFAULT_LANGUAGE


@contextmanager
def _operator_speaking(ctx: click.Context | None):
    """The operator's language for what runs inside, in the app's context (pushed for the
    duration when a command runs without one, as Flask's ``with_appcontext`` would)."""
    with ExitStack() as stack:
        if not current_app:
            if ctx is None:
                yield
                return
            stack.enter_context(ctx.ensure_object(ScriptInfo).load_app().app_context())
        stack.enter_context(speaking(operator_language()))
        yield


class OperatorLanguageGroup(AppGroup):
    """A ``flask`` command group whose commands speak the operator's language
    (``operator_language``): each command below it runs inside ``speaking(...)`` in the app's
    context, so ``_()`` in the command and in the services it calls finds the right catalogue
    although a command line has no request; its own ``--help``, its subcommands' and its line
    in ``flask --help`` are written in that language too (help texts given as ``_l(...)``)."""

    def invoke(self, ctx: click.Context):
        with _operator_speaking(ctx):
            return super().invoke(ctx)

    def get_help(self, ctx: click.Context) -> str:
        with _operator_speaking(ctx):
            return super().get_help(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _operator_speaking(click.get_current_context(silent=True)):
            return super().get_short_help_str(limit)


class TranslatedHelpOption(click.Option):
    """An option whose ``help`` may be a lazy string (``_l``), translated each time ``--help``
    is shown. Click tidies an option's help with ``inspect.cleandoc`` when the option is built,
    at import, which would turn a lazy string into its English text for good; a command's own
    help it keeps as given, so commands need nothing of the kind."""

    def __init__(self, *args, **kwargs):
        help_text = kwargs.get("help")
        super().__init__(*args, **kwargs)
        if help_text is not None and not isinstance(help_text, str):
            self.help = help_text

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        return None if record is None else (record[0], str(record[1]))  # the text, in today's language

def cli_option(*param_decls: str, **attrs):
    """``click.option`` with a help text that may be ``_l(...)`` (``TranslatedHelpOption``)."""
    attrs.setdefault("cls", TranslatedHelpOption)
    return click.option(*param_decls, **attrs)


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
