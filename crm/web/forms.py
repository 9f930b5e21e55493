"""Small forms several features' pages share: a note box and a delete confirmation.

Defined in the web kernel, not in a feature, because the contact, company and deal pages (and
the admin pages) all post them; each page's view owns what happens on submit."""
from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import Length

from crm.i18n import _l
from crm.web.formhelpers import CrmForm


class NoteForm(CrmForm):
    body = TextAreaField(_l("Add a note"), validators=[Length(max=10_000)],
                         render_kw={"rows": 3, "placeholder": "What happened? Next step?"})


class ConfirmForm(CrmForm):
    """A delete confirmation: nothing but the CSRF token."""
