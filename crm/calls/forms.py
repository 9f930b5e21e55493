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
from crm.web.formhelpers import choice_list


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BlockForm(FlaskForm):
    title = StringField("Title", default="Prospecting", validators=[Optional(), Length(max=100)])
    kind = SelectField("Repeats", choices=choice_list([("recurring", "Every week"), ("one_off", "Once")]),
                       default="recurring")
    weekdays = MultiCheckboxField("Weekdays", choices=choice_list([(str(i), n) for i, n in enumerate(WEEKDAY_NAMES)]),
                                  default=["0", "1", "2", "3", "4"])
    start_time = TimeField("Start", validators=[DataRequired()])
    end_time = TimeField("End", validators=[DataRequired()])
    on_date = DateField("Date (once)", validators=[Optional()])
    valid_from = DateField("From", validators=[Optional()])
    valid_until = DateField("Until", validators=[Optional()])
    # Off by default: a block over a booked meeting is refused, naming the meeting.
    allow_overlap = BooleanField("Keep the meeting inside this block")


class SettingsForm(FlaskForm):
    calls_per_hour = IntegerField("Calls per hour", validators=[DataRequired(), NumberRange(1, 60)])


class LogCallForm(FlaskForm):
    outcome = RadioField("Outcome", choices=choice_list([(o, OUTCOME_LABELS[o]) for o in OUTCOMES]),
                         validators=[DataRequired()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    duration_seconds = IntegerField("Duration (seconds)", validators=[Optional(), NumberRange(0, 6 * 3600)])
    callback_at = StringField("Call back at (your time)", validators=[Optional(), Length(max=20)],
                              render_kw={"type": "datetime-local"})
    follow_up_title = StringField("Follow-up task", validators=[Optional(), Length(max=200)])
    follow_up_due = DateField("Follow-up due", validators=[Optional()])


class ScriptForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    body = TextAreaField("Talk track", validators=[Optional(), Length(max=20000)])
    objections = TextAreaField("Objections (one a line: objection | answer)",
                               validators=[Optional(), Length(max=60000)])
