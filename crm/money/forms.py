"""Forms of the currencies page: they shape the input and carry CSRF; the rules are the
services' (``crm/money/services.py``)."""
from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import Length

from crm.i18n import _l
from crm.web.formhelpers import CrmForm


class BaseCurrencyForm(CrmForm):
    currency = StringField(_l("Base currency"), validators=[Length(max=3)],
                           render_kw={"placeholder": "MXN", "autocapitalize": "characters", "maxlength": 3})


class RateForm(CrmForm):
    currency = StringField(_l("Currency"), validators=[Length(max=3)],
                           render_kw={"placeholder": "USD", "autocapitalize": "characters", "maxlength": 3})
    rate = StringField(_l("Rate (1 unit = ? base)"), validators=[Length(max=32)],
                       render_kw={"placeholder": "17.25", "inputmode": "decimal"})
    valid_from = StringField(_l("Valid from"), validators=[Length(max=10)], render_kw={"type": "date"})


class RateImportForm(CrmForm):
    file = FileField(_l("CSV file (currency,rate,valid_from)"))
