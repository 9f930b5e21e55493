"""Upload and preview forms. The preview (mapping) form is built per file: one choice per column."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import Length, Optional

from crm.i18n import _l
from crm.web.formhelpers import choice_list

ENCODINGS = [
    ("auto", _l("Detect automatically")),
    ("utf-8", _l("UTF-8")),
    ("cp1252", _l("Windows-1252: Excel on Windows (Western Europe, Americas)")),
    ("latin-1", _l("ISO-8859-1 (Latin-1)")),
    ("mac-roman", _l("Mac Roman: older Excel on a Mac")),
]
DELIMITERS = [
    ("auto", _l("Detect automatically")),
    ("comma", _l("Comma ,")),
    ("semicolon", _l("Semicolon ; (Excel in Spanish, French, German...)")),
    ("tab", _l("Tab")),
    ("pipe", _l("Pipe |")),
]
DATE_ORDERS = [
    ("dmy", _l("Day first: 05/03/2024 is 5 March")),
    ("mdy", _l("Month first: 03/05/2024 is 5 March")),
]


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a file.")),
        FileAllowed(["csv", "txt"], _l("Only .csv files can be imported (in Excel: Save as > CSV UTF-8).")),
    ])
    kind = RadioField(_l("What the file holds"), choices=choice_list([
        ("contacts", _l("Contacts: one per row, with an email column")),
        ("deals", _l("Deals: one row per deal (or per deal line: product family, quantity, unit price)")),
    ]), default="contacts")
    on_duplicate = RadioField(
        _l("When a row matches an existing record (same email, same deal id)"),
        choices=choice_list([
            ("skip", _l("Skip the row and keep the record as it is")),
            ("update", _l("Update the record with the row's non-empty cells")),
        ]),
        default="skip",
    )
    encoding = SelectField(_l("Encoding"), choices=choice_list(ENCODINGS), default="auto")
    delimiter = SelectField(_l("Separator"), choices=choice_list(DELIMITERS), default="auto")


class ReadSettingsForm(FlaskForm):
    """Change how the uploaded file is read (on the preview page)."""

    encoding = SelectField(_l("Encoding"), choices=choice_list(ENCODINGS), default="auto")
    delimiter = SelectField(_l("Separator"), choices=choice_list(DELIMITERS), default="auto")


class MappingFormBase(FlaskForm):
    """Subclassed per file by ``mapping_form``; column fields are ``col_0``, ``col_1``, ..."""

    date_order = SelectField(_l("Dates such as 05/03/2024"), choices=choice_list(DATE_ORDERS))
    preset_name = StringField(_l("Save this mapping as a preset named"),
                              validators=[Optional(), Length(max=100)])


def mapping_form(headers: list[str], choices: list[tuple[str, str]], defaults: list[str], *,
                 families: list[tuple[str, str]] | None = None, **kwargs):
    """A form with one select per column, preselected with the detected field; for deals, a
    default product family for rows with an amount but no family column."""

    class MappingForm(MappingFormBase):
        pass

    for index, header in enumerate(headers):
        setattr(MappingForm, f"col_{index}", SelectField(
            header or _l("(column %(n)s has no header)", n=index + 1), choices=choice_list(choices),
            default=defaults[index],
        ))
    if families is not None:
        MappingForm.default_family = SelectField(
            _l("Product family of rows with an amount but no family"),
            choices=choice_list([("", _l("— none —"))] + families), default="")
    form = MappingForm(**kwargs)
    form.column_fields = [getattr(form, f"col_{i}") for i in range(len(headers))]
    return form
