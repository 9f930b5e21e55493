"""Page forms of the meetings feature. They shape input and the services validate; the forms
add the two shared checks the page needs before a service sees the value: a time zone is an
IANA name (``crm.timeutil.is_valid_timezone``) and a video link or calendar feed is an http(s)
address (``crm.validation.check_web_url``), each answered 422 next to its field."""
from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from crm.i18n import _, _l
from crm.meetings.calendars import feed_address
from crm.timeutil import is_valid_timezone
from crm.validation import check_web_url
from crm.web.formhelpers import CrmForm, choice_list

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LOCATION_CHOICES = [("video", "Video call"), ("phone", "Phone"), ("address", "Address"), ("none", "Decide later")]


def time_zone_name(_form, field) -> None:
    """WTForms validator: an IANA zone name (or UTC); empty values are left to Optional()."""
    if field.data and not is_valid_timezone(field.data):
        raise ValidationError(_("not a known time zone: an IANA name such as Europe/Berlin, or UTC"))


def web_url(_form, field) -> None:
    """WTForms validator: an http(s) address (empty values are left to Optional())."""
    if field.data:
        try:
            field.data = check_web_url(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _hours_field(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=200)],
                       render_kw={"placeholder": "09:00-12:00, 13:00-17:00"})


class MeetingTypeForm(CrmForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    slug = StringField(_l("Link"), validators=[InputRequired(), Length(max=80)],
                       render_kw={"placeholder": "rita-30min"})
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), default=30, validators=[InputRequired(), NumberRange(5, 720)])
    time_zone = SelectField(_l("Time zone of the hours"), validate_choice=False, validators=[time_zone_name])
    hours_0 = _hours_field("Monday")
    hours_1 = _hours_field("Tuesday")
    hours_2 = _hours_field("Wednesday")
    hours_3 = _hours_field("Thursday")
    hours_4 = _hours_field("Friday")
    hours_5 = _hours_field("Saturday")
    hours_6 = _hours_field("Sunday")
    buffer_before_minutes = IntegerField(_l("Buffer before (minutes)"), default=0,
                                         validators=[Optional(), NumberRange(0, 240)])
    buffer_after_minutes = IntegerField(_l("Buffer after (minutes)"), default=0,
                                        validators=[Optional(), NumberRange(0, 240)])
    min_notice_hours = IntegerField(
        _l("Minimum notice (hours)"), default=4, validators=[Optional(), NumberRange(0, 1440)])
    not_today = BooleanField(_l("Never on the same day"))
    horizon_days = IntegerField(_l("Bookable days ahead"), default=30, validators=[Optional(), NumberRange(1, 365)])
    increment_minutes = IntegerField(_l("Start times every (minutes)"), default=30,
                                     validators=[Optional(), NumberRange(5, 720)])
    daily_max = IntegerField(_l("At most meetings a day"), validators=[Optional(), NumberRange(1, 100)])
    location_kind = SelectField(_l("Location"), choices=choice_list(LOCATION_CHOICES), validate_choice=False)
    location_value = StringField(_l("Video link, phone number or address"), validators=[Optional(), Length(max=500)])
    questions = TextAreaField(_l("Questions (one per line; end with * if required)"),
                              validators=[Optional(), Length(max=3000)])
    member_ids = SelectMultipleField(_l("Team (round-robin): leave empty for a personal link"), validate_choice=False)
    is_active = BooleanField(_l("Active"), default=True)

    HOURS_FIELDS = tuple(f"hours_{i}" for i in range(7))

    def validate_location_value(self, field) -> None:
        """A video location is a link guests open: http(s) only (see ``web_url``)."""
        if self.location_kind.data == "video" and field.data:
            try:
                field.data = check_web_url(field.data, max_length=500)
            except ValueError as exc:
                raise ValidationError(_("the video link: %(reason)s", reason=str(exc))) from None

    def weekly_hours(self) -> list[dict]:
        """"09:00-12:00, 13:00-17:00" per weekday as rows; malformed parts become rows the
        service refuses with a message on the right field."""
        rows = []
        for weekday in range(7):
            text = (self[f"hours_{weekday}"].data or "").strip()
            for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
                start, _, end = part.partition("-")
                rows.append({"weekday": weekday, "start": start.strip(), "end": end.strip()})
        return rows

    def question_rows(self) -> list[dict]:
        rows = []
        for line in (self.questions.data or "").splitlines():
            line = line.strip()
            if line:
                required = line.endswith("*")
                rows.append({"label": line.rstrip("*").strip(), "required": required})
        return rows

    def service_data(self) -> dict:
        data = {key: self[key].data for key in (
            "name", "slug", "description", "duration_minutes", "time_zone", "buffer_before_minutes",
            "buffer_after_minutes", "min_notice_hours", "not_today", "horizon_days", "increment_minutes",
            "daily_max", "location_kind", "location_value", "is_active")}
        for key, default in (("buffer_before_minutes", 0), ("buffer_after_minutes", 0), ("min_notice_hours", 4),
                             ("horizon_days", 30), ("increment_minutes", 30)):
            if data[key] is None:
                data[key] = default
        data["weekly_hours"] = self.weekly_hours()
        data["questions"] = self.question_rows()
        data["member_ids"] = [int(v) for v in (self.member_ids.data or []) if str(v).isdigit()]
        return data

    def load(self, meeting_type) -> None:
        for key in ("name", "slug", "description", "duration_minutes", "time_zone", "buffer_before_minutes",
                    "buffer_after_minutes", "min_notice_hours", "not_today", "horizon_days", "increment_minutes",
                    "daily_max", "location_kind", "location_value", "is_active"):
            self[key].data = getattr(meeting_type, key)
        for weekday in range(7):
            ranges = [f"{r['start']}-{r['end']}" for r in meeting_type.weekly_hours if r["weekday"] == weekday]
            self[f"hours_{weekday}"].data = ", ".join(ranges)
        self.questions.data = "\n".join(q["label"] + (" *" if q.get("required") else "")
                                        for q in meeting_type.questions)
        self.member_ids.data = [str(m.user_id) for m in meeting_type.members]


class BookingForm(CrmForm):
    start = HiddenField()
    tz = HiddenField()
    src = HiddenField()
    name = StringField(
        _l("Your name"), validators=[InputRequired(), Length(max=200)], render_kw={"autocomplete": "name"})
    email = StringField(_l("Email"), validators=[InputRequired(), Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "email"})

    def validate_tz(self, field) -> None:
        """A hidden field has no place to show its error: say it at the top of the form."""
        if field.data and not is_valid_timezone(field.data):
            message = _("Your time zone is not known: go back and choose it again (such as Europe/Berlin).")
            self.form_errors.append(message)
            raise ValidationError(message)


class CancelForm(CrmForm):
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])


def feed_url(form, field) -> None:
    """WTForms validator: a calendar feed address; ``webcal://`` is taken as https."""
    if field.data:
        field.data = feed_address(field.data)
    web_url(form, field)


class ConfirmForm(CrmForm):
    pass


class CalendarUrlForm(CrmForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)], render_kw={"placeholder": "Work calendar"})
    url = StringField(_l("Secret address in iCal format (https://... or webcal://...)"),
                      validators=[InputRequired(), Length(max=2000), feed_url])


class CalendarUploadForm(CrmForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    file = FileField(_l("An .ics file"))

