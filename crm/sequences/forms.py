"""Forms of the sequence pages. They shape input and carry CSRF; the services validate
(one set of rules for pages and API), and their errors land on these fields."""
from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from crm.i18n import _l
from crm.sequences.inputs import MAX_BODY, MAX_SUBJECT, MAX_TASK_NOTE
from crm.sequences.models import STEP_KIND_LABELS
from crm.web.formhelpers import CrmForm, choice_list

WEEKDAY_CHOICES = [(str(n), name) for n, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))]
STEP_KIND_CHOICES = list(STEP_KIND_LABELS.items())
# The tokens a template may use, for the picker on the template form (and TOKENS_HINT below).
TEMPLATE_TOKENS = ("{{ contact.first_name }}", "{{ contact.last_name }}", "{{ contact.full_name }}",
                   "{{ contact.title }}", "{{ company.name }}", "{{ sender.name }}", "{{ sender.signature }}",
                   "{{ meeting_link }}", "{{ unsubscribe_url }}")
TOKENS_HINT = ("Tokens: {{ contact.first_name }}, {{ contact.last_name }}, {{ contact.full_name }}, "
               "{{ contact.title }}, {{ company.name }}, {{ sender.name }}, {{ sender.signature }}, "
               "{{ meeting_link }}, {{ unsubscribe_url }}.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _minutes_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class SequenceForm(CrmForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    send_days = MultiCheckboxField(_l("Send on"), choices=choice_list(WEEKDAY_CHOICES), validate_choice=False)
    window_start = StringField(_l("Window opens"), validators=[Length(max=5)], render_kw={"type": "time"})
    window_end = StringField(_l("Window closes"), validators=[Length(max=5)], render_kw={"type": "time"})
    colleague_reply_stops = BooleanField(_l("A reply from a colleague at the same company stops it too"))

    @classmethod
    def initial(cls, sequence) -> dict:
        return {"name": sequence.name, "send_days": [str(d) for d in sequence.send_days or []],
                "window_start": _minutes_text(sequence.window_start_minute),
                "window_end": _minutes_text(sequence.window_end_minute),
                "colleague_reply_stops": sequence.colleague_reply_stops}

    def service_data(self) -> dict:
        days = [int(d) for d in self.send_days.data or [] if str(d).isdigit() and len(str(d)) == 1]
        return {"name": self.name.data or "", "send_days": days, "window_start": self.window_start.data or "",
                "window_end": self.window_end.data or "",
                "colleague_reply_stops": bool(self.colleague_reply_stops.data)}


class StepForm(CrmForm):
    kind = SelectField(_l("Kind"), choices=choice_list(STEP_KIND_CHOICES), validate_choice=False)
    delay_days = StringField(_l("Wait (business days)"), default="0", validators=[Length(max=3)],
                             render_kw={"inputmode": "numeric", "class": "short"})
    template_id = SelectField(_l("Template"), choices=[], validate_choice=False)
    subject = StringField(_l("Own subject"), validators=[Length(max=MAX_SUBJECT)])
    text_body = TextAreaField(_l("Own text"), validators=[Length(max=MAX_BODY)], render_kw={"rows": 6})
    html_body = TextAreaField(_l("Own HTML (optional)"), validators=[Length(max=MAX_BODY)], render_kw={"rows": 4})
    new_thread = BooleanField(_l("Start a new thread with this step's subject (instead of “Re: first subject”)"))
    task_note = TextAreaField(_l("Task note"), validators=[Length(max=MAX_TASK_NOTE)], render_kw={"rows": 2})

    @classmethod
    def initial(cls, step) -> dict:
        return {"kind": step.kind, "delay_days": str(step.delay_days), "template_id": str(step.template_id or ""),
                "subject": step.subject or "", "text_body": step.text_body or "", "html_body": step.html_body or "",
                "new_thread": step.new_thread, "task_note": step.task_note or ""}

    def service_data(self) -> dict:
        delay = (self.delay_days.data or "0").strip()
        template = (self.template_id.data or "").strip()
        return {"kind": self.kind.data, "delay_days": int(delay) if delay.isdigit() else -1,
                "template_id": template if template.isdigit() else None, "subject": self.subject.data or "",
                "text_body": self.text_body.data or "", "html_body": self.html_body.data or "",
                "new_thread": bool(self.new_thread.data), "task_note": self.task_note.data or ""}


class TemplateForm(CrmForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    subject = StringField(_l("Subject"), validators=[Length(max=500)])
    text_body = TextAreaField(_l("Plain-text body"), validators=[Length(max=100_000)], render_kw={"rows": 10})
    html_body = TextAreaField(_l("HTML body (optional)"), validators=[Length(max=100_000)], render_kw={"rows": 6})
    preview_email = StringField(_l("Preview for (a contact's email)"), validators=[Length(max=254)],
                                render_kw={"type": "email", "autocomplete": "off", "list": "preview-contacts"})

    def service_data(self) -> dict:
        return {"name": self.name.data or "", "subject": self.subject.data or "",
                "text_body": self.text_body.data or "", "html_body": self.html_body.data or None}


class EnrollForm(CrmForm):
    sequence_id = SelectField(_l("Sequence"), choices=[], validate_choice=False)
    contact_id = HiddenField()


class BulkEnrollForm(CrmForm):
    sequence_id = SelectField(_l("Sequence"), choices=[], validate_choice=False)
    q = HiddenField()
    owner = HiddenField()
    stage = HiddenField()


class PauseForm(CrmForm):
    until = StringField(_l("Resume on (optional)"), validators=[Length(max=10)], render_kw={"type": "date"})


class ManualEmailForm(CrmForm):
    subject = StringField(_l("Subject"), validators=[Length(max=500)])
    text_body = TextAreaField(_l("Text"), validators=[Length(max=100_000)], render_kw={"rows": 12})


class OutcomeForm(CrmForm):
    outcome = StringField(_l("Outcome"), default="done", validators=[Length(max=40)])
