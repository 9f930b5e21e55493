"""The home page: each role lands where its work is."""
from flask import Blueprint, redirect, url_for
from flask_login import current_user

from crm.web.access import EVERYONE, roles

bp = Blueprint("web", __name__)

LANDING = {"rep": "contacts.list_contacts", "manager": "deals.board", "admin": "contacts.list_contacts",
           "planner": "planning.demand", "finance": "sop.cycles"}


@bp.route("/")
@roles(*EVERYONE)
def home():
    return redirect(url_for(LANDING[current_user.role]))
