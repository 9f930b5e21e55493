"""The currencies page (admins): the base currency, the exchange rates, a CSV import."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.i18n import _
from crm.money import services
from crm.money.forms import BaseCurrencyForm, RateForm, RateImportForm
from crm.web.access import roles
from crm.web.formhelpers import commit_or_abort, commit_or_show_errors, int_arg

bp = Blueprint("money", __name__)

# A rates file is small; the body limit is checked before the form is read.
IMPORT_BODY_LIMIT = services.MAX_CSV_BYTES + 64 * 1024


def _page(base_form=None, rate_form=None, import_form=None, status: int = 200):
    page = services.list_rates(page=int_arg("page") or 1, per_page=50)
    return render_template(
        "money/currencies.html", base=services.base_currency(), settings=services.company_settings(),
        rates=page, stale=services.stale_rate_count(),
        base_form=base_form or BaseCurrencyForm(data={"currency": services.base_currency()}),
        rate_form=rate_form or RateForm(), import_form=import_form or RateImportForm(),
    ), status


@bp.route("/admin/currencies")
@roles("admin")
def currencies():
    return _page()


@bp.route("/admin/currencies/base", methods=["POST"])
@roles("admin")
def set_base():
    form = BaseCurrencyForm()
    if not form.validate_on_submit():
        return _page(base_form=form, status=422)
    code, status = commit_or_show_errors(form, lambda: services.set_base_currency(current_user, form.currency.data))
    if code is None:
        return _page(base_form=form, status=status)
    flash(_("Base currency set to %(code)s.", code=code), "success")
    return redirect(url_for(".currencies"))


@bp.route("/admin/currencies/rates", methods=["POST"])
@roles("admin")
def add_rate():
    form = RateForm()
    if not form.validate_on_submit():
        return _page(rate_form=form, status=422)
    rate, status = commit_or_show_errors(form, lambda: services.add_rate(
        current_user, form.currency.data, form.rate.data, form.valid_from.data))
    if rate is None:
        return _page(rate_form=form, status=status)
    flash(_("1 %(currency)s = %(rate)s %(base)s from %(day)s saved.", currency=rate.currency,
            rate=f"{rate.rate.normalize():f}", base=rate.base, day=rate.valid_from.isoformat()), "success")
    return redirect(url_for(".currencies"))


@bp.route("/admin/currencies/rates/<int:rate_id>/delete", methods=["POST"])
@roles("admin")
def delete_rate(rate_id: int):
    form = RateForm()  # carries the CSRF token
    if not form.validate_on_submit():
        return _page(status=400)
    commit_or_abort(lambda: services.delete_rate(current_user, rate_id))
    flash(_("Exchange rate deleted."), "success")
    return redirect(url_for(".currencies"))


@bp.route("/admin/currencies/import", methods=["POST"])
@roles("admin")
def import_rates():
    request.max_content_length = IMPORT_BODY_LIMIT
    form = RateImportForm()
    if not form.validate_on_submit():
        return _page(import_form=form, status=422)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors = [_("choose a CSV file")]
        return _page(import_form=form, status=422)
    data = upload.stream.read(services.MAX_CSV_BYTES + 1)
    count, status = commit_or_show_errors(form, lambda: services.import_rates_csv(current_user, data))
    if count is None:
        return _page(import_form=form, status=status)
    flash(_("%(n)s exchange rates imported.", n=count), "success")
    return redirect(url_for(".currencies"))
