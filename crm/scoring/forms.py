"""Forms of the scoring admin page (shape and CSRF; the services validate)."""
from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import Length

from crm.i18n import _l
from crm.scoring.rules import EVENT_KINDS
from crm.web.formhelpers import CrmForm, choice_list

KIND_LABELS = {"page_viewed": "Page viewed", "email_opened": "Email opened (human)",
               "email_clicked": "Link clicked (human)", "form_submitted": "Form submitted",
               "email_replied": "Email replied", "meeting_booked": "Meeting booked",
               "document_viewed": "Shared document read", "video_watched": "Shared video watched"}


class SettingsForm(CrmForm):
    half_life_days = StringField(
        _l("Half-life (days)"), validators=[Length(max=20)], render_kw={"inputmode": "decimal"})
    saturation_points = StringField(_l("Points for a score of 50"), validators=[Length(max=20)],
                                    render_kw={"inputmode": "decimal"})


class RuleForm(CrmForm):
    kind = SelectField(_l("Event"), choices=choice_list([(k, KIND_LABELS[k]) for k in EVENT_KINDS]),
                       validate_choice=False)
    url_contains = StringField(_l("URL contains"), validators=[Length(max=300)], render_kw={"placeholder": "/pricing"})
    points = StringField(_l("Points"), validators=[Length(max=20)], render_kw={"inputmode": "decimal"})
    label = StringField(_l("Label in explanations"), validators=[Length(max=100)],
                        render_kw={"placeholder": "the pricing page"})


class FitRuleForm(CrmForm):
    attribute = SelectField(_l("Attribute"), choices=choice_list([
        ("title", "Title keywords"), ("company_size", "Company size"), ("industry", "Industry")]),
        validate_choice=False)
    match = StringField(_l("Keywords (a|b|c) or industry"), validators=[Length(max=300)])
    min_value = StringField(_l("Min employees"), validators=[Length(max=12)], render_kw={"inputmode": "numeric"})
    max_value = StringField(_l("Max employees"), validators=[Length(max=12)], render_kw={"inputmode": "numeric"})
    points = StringField(_l("Points"), validators=[Length(max=20)], render_kw={"inputmode": "decimal"})
    label = StringField(_l("Label"), validators=[Length(max=100)], render_kw={"placeholder": "VP"})
