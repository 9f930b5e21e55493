from flask import Blueprint

from crm.web.access import SALES, roles

bp = Blueprint("contacts", __name__)


@bp.route("/contacts")
@roles(*SALES)
def list_contacts():
    return "contacts"


@bp.route("/companies")
@roles(*SALES)
def list_companies():
    return "companies"
