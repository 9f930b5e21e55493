"""Upload and mapping forms. The mapping form is built per file: one choice per column."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import RadioField, SelectField

from crm.i18n import _l
from crm.web.formhelpers import choice_list

ENCODINGS = choice_list([
    ("utf-8", "UTF-8 (the usual choice)"),
    ("cp1252", "Windows-1252: older Excel on Windows"),
    ("latin-1", "ISO-8859-1 (Latin-1)"),
    ("mac-roman", "Mac Roman: older Excel on a Mac"),
])


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a file.")),
        FileAllowed(["csv"], _l("Only .csv files can be imported (in Excel: Save as > CSV UTF-8).")),
    ])
    kind = RadioField(_l("What the file holds"), choices=choice_list([
        ("contacts", _l("Contacts: one per row, with an email column")),
        ("deals", _l("Deals: one row per deal line (product family, quantity, unit price)")),
    ]), default="contacts")
    on_duplicate = RadioField(
        _l("When a row matches an existing record (same email, same deal id)"),
        choices=choice_list([
            ("skip", _l("Skip the row and keep the record as it is")),
            ("update", _l("Update the record with the row's non-empty cells")),
        ]),
        default="skip",
    )
    encoding = SelectField(_l("Encoding"), choices=ENCODINGS, default="utf-8")


class MappingFormBase(FlaskForm):
    """Subclassed per file by ``mapping_form``; fields are ``col_0``, ``col_1``, ..."""


def mapping_form(headers: list[str], choices: list[tuple[str, str]], defaults: list[str], **kwargs):
    """A form with one select per column, preselected with the detected field."""

    class MappingForm(MappingFormBase):
        pass

    for index, header in enumerate(headers):
        setattr(MappingForm, f"col_{index}", SelectField(
            header or f"(column {index + 1} has no header)", choices=choice_list(choices),
            default=defaults[index],
        ))
    form = MappingForm(**kwargs)
    form.column_fields = [getattr(form, f"col_{i}") for i in range(len(headers))]
    return form
