"""Pages of the alerts feature."""
from flask import Blueprint

bp = Blueprint("alerts", __name__)
