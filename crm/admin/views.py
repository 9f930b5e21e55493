from flask import Blueprint

from crm.web.access import roles

bp = Blueprint("admin", __name__)


@bp.route("/admin/users")
@roles("admin")
def users():
    return "users"
