"""Pages of the mail feature (outbox, unsubscribe)."""
from flask import Blueprint

bp = Blueprint("mail", __name__)
