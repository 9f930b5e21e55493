"""The page form for attaching a recording to a call: a file (checked by content in the
services) with its channel layout, or the phone system's https URL."""
from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from crm.i18n import _l
from crm.web.formhelpers import CrmForm, choice_list

LAYOUT_CHOICES = [
    ("", "Detect: two channels = rep on the left"),
    ("rep-left", "Two channels, rep on the left (channel 1)"),
    ("rep-right", "Two channels, rep on the right (channel 2)"),
    ("mono", "Mono (both sides mixed)"),
]


class AttachRecordingForm(CrmForm):
    file = FileField(_l("Audio file (WAV, FLAC, OGG/Opus or MP3)"))
    channels = SelectField(_l("Channels"), choices=choice_list(LAYOUT_CHOICES), default="", validators=[Optional()])
    url = StringField(
        _l("…or the recording's https URL at the phone system"), validators=[Optional(), Length(max=2000)])
