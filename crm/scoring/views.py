"""Pages of the scoring feature."""
from flask import Blueprint

bp = Blueprint("scoring", __name__)
