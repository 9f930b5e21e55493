"""Pages of the tracking feature."""
from flask import Blueprint

bp = Blueprint("tracking", __name__)
