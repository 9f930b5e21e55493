from flask import Blueprint

from crm.web.access import EVERYONE, roles

bp = Blueprint("deals", __name__)


@bp.route("/deals/board")
@roles(*EVERYONE)
def board():
    return "board"


@bp.route("/deals")
@roles(*EVERYONE)
def list_deals():
    return "deals"
