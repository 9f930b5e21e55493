"""Deal forms: the deal with its product lines, stage moves and closing. The services validate
values (dates, amounts, families) through ``crm.deals.inputs``; these forms shape the input
and carry CSRF."""
from __future__ import annotations

from wtforms import FieldList, FormField, SelectField, StringField
from wtforms.validators import Length

from crm.web.formhelpers import CrmForm, CrmSubForm, choice_list

# Empty line rows shown after the existing ones. Without JavaScript this is how many lines can
# be added per save; deal_lines.js adds and removes rows freely.
SPARE_LINE_ROWS = 3
MAX_LINE_ROWS = 100


class LineForm(CrmSubForm):
    """One product line. A plain ``Form``: the enclosing deal form carries the CSRF token."""

    family = SelectField("Product family", choices=[], validate_choice=False)
    quantity = StringField("Quantity", validators=[Length(max=20)],
                           render_kw={"inputmode": "decimal", "placeholder": "Qty"})
    unit_price = StringField("Unit price", validators=[Length(max=20)],
                             render_kw={"inputmode": "decimal", "placeholder": "Unit price"})

    def is_blank(self) -> bool:
        return not (self.family.data or (self.quantity.data or "").strip() or (self.unit_price.data or "").strip())


class DealForm(CrmForm):
    name = StringField("Deal name", validators=[Length(max=200)])
    company_id = SelectField("Company", choices=[], validate_choice=False)
    contact_email = StringField("Primary contact (email)", validators=[Length(max=254)],
                                render_kw={"type": "email", "placeholder": "name@company.com"})
    owner_id = SelectField("Owner", choices=[], validate_choice=False)
    stage_id = SelectField("Stage", choices=[], validate_choice=False)
    expected_close = StringField("Expected close", render_kw={"type": "date"})
    currency = StringField("Currency", default="EUR", validators=[Length(max=3)],
                           render_kw={"maxlength": 3, "class": "short"})
    source = StringField("Source", validators=[Length(max=100)])
    lines = FieldList(FormField(LineForm), min_entries=SPARE_LINE_ROWS, max_entries=MAX_LINE_ROWS)


class StageForm(CrmForm):
    stage_id = SelectField("Move to stage", choices=[], validate_choice=False)


class CloseForm(CrmForm):
    outcome = SelectField("Outcome", choices=choice_list([("won", "Won"), ("lost", "Lost")]))
    lost_reason = StringField("Reason (for a lost deal)", validators=[Length(max=200)],
                              render_kw={"placeholder": "e.g. price, timing, competitor"})
