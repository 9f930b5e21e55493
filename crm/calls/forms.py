"""Forms of the calls pages (CSRF through Flask-WTF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.calls.blocks import WEEKDAY_NAMES
from crm.calls.models import OUTCOME_LABELS, OUTCOMES
from crm.i18n import _l
from crm.web.formhelpers import choice_list


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BlockForm(FlaskForm):
    title = StringField(_l("Title"), default="Prospecting", validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Repeats"), choices=choice_list([("recurring", "Every week"), ("one_off", "Once")]),
                       default="recurring")
    weekdays = MultiCheckboxField(
        _l("Weekdays"), choices=choice_list([(str(i), n) for i, n in enumerate(WEEKDAY_NAMES)]),
                                  default=["0", "1", "2", "3", "4"])
    start_time = TimeField(_l("Start"), validators=[DataRequired()])
    end_time = TimeField(_l("End"), validators=[DataRequired()])
    on_date = DateField(_l("Date (once)"), validators=[Optional()])
    valid_from = DateField(_l("From"), validators=[Optional()])
    valid_until = DateField(_l("Until"), validators=[Optional()])
    # Off by default: a block over a booked meeting is refused, naming the meeting.
    allow_overlap = BooleanField(_l("Keep the meeting inside this block"))


class SettingsForm(FlaskForm):
    calls_per_hour = IntegerField(_l("Calls per hour"), validators=[DataRequired(), NumberRange(1, 60)])


class LogCallForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=choice_list([(o, _l(OUTCOME_LABELS[o])) for o in OUTCOMES]),
                         validators=[DataRequired()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    duration_seconds = IntegerField(_l("Duration (seconds)"), validators=[Optional(), NumberRange(0, 6 * 3600)])
    callback_at = StringField(_l("Call back at (your time)"), validators=[Optional(), Length(max=20)],
                              render_kw={"type": "datetime-local"})
    follow_up_title = StringField(_l("Follow-up task"), validators=[Optional(), Length(max=200)])
    follow_up_due = DateField(_l("Follow-up due"), validators=[Optional()])


class ScriptForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    body = TextAreaField(_l("Talk track"), validators=[Optional(), Length(max=20000)])
    objections = TextAreaField(_l("Objections (one a line: objection | answer)"),
                               validators=[Optional(), Length(max=60000)])
