"""Deal forms: the deal with its product lines, stage moves and closing. The services validate
values (dates, amounts, families) through ``crm.deals.inputs``; these forms shape the input
and carry CSRF."""
from __future__ import annotations

from wtforms import FieldList, FormField, SelectField, StringField
from wtforms.validators import Length

from crm.i18n import _l
from crm.web.formhelpers import CrmForm, CrmSubForm, choice_list

# Empty line rows shown after the existing ones. Without JavaScript this is how many lines can
# be added per save; deal_lines.js adds and removes rows freely.
SPARE_LINE_ROWS = 3
MAX_LINE_ROWS = 100


class LineForm(CrmSubForm):
    """One product line. A plain ``Form``: the enclosing deal form carries the CSRF token."""

    family = SelectField(_l("Product family"), choices=[], validate_choice=False)
    quantity = StringField(_l("Quantity"), validators=[Length(max=20)],
                           render_kw={"inputmode": "decimal", "placeholder": "Qty"})
    unit_price = StringField(_l("Unit price"), validators=[Length(max=20)],
                             render_kw={"inputmode": "decimal", "placeholder": "Unit price"})

    def is_blank(self) -> bool:
        return not (self.family.data or (self.quantity.data or "").strip() or (self.unit_price.data or "").strip())


class DealForm(CrmForm):
    name = StringField(_l("Deal name"), validators=[Length(max=200)])
    company_id = SelectField(_l("Company"), choices=[], validate_choice=False)
    contact_email = StringField(_l("Primary contact (email)"), validators=[Length(max=254)],
                                render_kw={"type": "email", "placeholder": "name@company.com"})
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)
    stage_id = SelectField(_l("Stage"), choices=[], validate_choice=False)
    expected_close = StringField(_l("Expected close"), render_kw={"type": "date"})
    currency = StringField(_l("Currency"), default="EUR", validators=[Length(max=3)],
                           render_kw={"maxlength": 3, "class": "short"})
    source = StringField(_l("Source"), validators=[Length(max=100)])
    lines = FieldList(FormField(LineForm), min_entries=SPARE_LINE_ROWS, max_entries=MAX_LINE_ROWS)


class StageForm(CrmForm):
    stage_id = SelectField(_l("Move to stage"), choices=[], validate_choice=False)


class CloseForm(CrmForm):
    outcome = SelectField(_l("Outcome"), choices=choice_list([("won", "Won"), ("lost", "Lost")]))
    lost_reason = StringField(_l("Reason (for a lost deal)"), validators=[Length(max=200)],
                              render_kw={"placeholder": "e.g. price, timing, competitor"})
