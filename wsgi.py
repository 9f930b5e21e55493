"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""
import click

from config import ConfigError
from crm.app import create_app, create_help_app

try:
    app = create_app()
except ConfigError as error:
    # The environment lacks a setting the chosen config requires (production without
    # SECRET_KEY). A WSGI server imports this module outside any click command: it must
    # refuse to start, with this error. The `flask` command line imports it inside one, to
    # list and look up the app's commands, also for `--help`; there it gets an app that shows
    # every command's help and turns running any of them into this error's one line
    # (crm.app.create_help_app explains why and how).
    if click.get_current_context(silent=True) is None:
        raise
    app = create_help_app(error)
