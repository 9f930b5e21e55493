from flask import Blueprint

from crm.web.access import SALES, roles

bp = Blueprint("imports", __name__)


@bp.route("/imports/new")
@roles(*SALES)
def new_import():
    return "import"
