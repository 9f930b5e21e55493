"""Pages of the sequences feature."""
from flask import Blueprint

bp = Blueprint("sequences", __name__)
