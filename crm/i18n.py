"""Translations and locale (issue #17): Flask-Babel with gettext catalogues under
``crm/translations/``. Everything user-visible is marked:

- in templates: ``{{ _('Log call') }}``, ``{{ _('%(n)s calls', n=count) }}``, ``ngettext``;
- in Python at request time: ``from crm.i18n import _`` (``gettext``);
- in Python at import time (form labels, module-level messages): ``from crm.i18n import _l``
  (``lazy_gettext``: translated when rendered, in the reader's language).

The locale of a request: the signed-in user's language when they have one, else the visitor's
``Accept-Language`` among the supported languages, else English."""
from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, gettext, lazy_gettext, ngettext

SUPPORTED_LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"

_ = gettext
_l = lazy_gettext
__all__ = ["_", "_l", "ngettext", "init_app", "SUPPORTED_LANGUAGES", "select_locale"]

babel = Babel()


def select_locale() -> str:
    forced = g.get("crm_locale") if has_request_context() else None
    if forced:
        return forced
    if not has_request_context():
        return DEFAULT_LANGUAGE
    user = g.get("_login_user") or g.get("api_user")
    language = getattr(user, "language", None) if user is not None else None
    if language in SUPPORTED_LANGUAGES:
        return language
    return request.accept_languages.best_match(SUPPORTED_LANGUAGES) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")  # relative to app.root_path (crm/)
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def inject_language():
        from flask_babel import get_locale

        locale = get_locale()
        return {"html_lang": locale.language if locale is not None else DEFAULT_LANGUAGE}
