"""The README's commands as a newcomer types them, in a clean environment (no ``SECRET_KEY``, no
``CRM_CONFIG``, no ``.env``): ``--help`` works everywhere without secrets or a database, a
command that needs the production settings says in one line what to set, and a WSGI server
still refuses to start without the secret.

Each case is the real command in its own process (``python -m flask`` is what ``flask`` runs).
Importing the app costs seconds, so the processes are started together, once for the module,
and every command's ``--help`` is checked in one process that walks the command tree."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
MISSING_SECRET = "Error: SECRET_KEY must be set in the environment in production (or run with CRM_CONFIG=development)"

# One process that runs `flask --app wsgi <group...> <command> --help` for every group and
# command the app registers (click's test runner around Flask's real `flask` entry point).
SWEEP = """
import json
from click.testing import CliRunner
from flask.cli import cli

runner = CliRunner()

def run(path):
    result = runner.invoke(cli, ["--app", "wsgi", *path, "--help"], prog_name="flask")
    return {"exit_code": result.exit_code, "output": result.output,
            "exception": None if result.exception is None or isinstance(result.exception, SystemExit)
            else repr(result.exception)}

results = {"crm": run(["crm"])}   # loads wsgi inside the flask command, as `flask` does
import wsgi

def walk(command, path):
    results[" ".join(path)] = run(path)
    for name, sub in getattr(command, "commands", {}).items():
        walk(sub, [*path, name])

for name, command in wsgi.app.cli.commands.items():
    walk(command, [name])
print(json.dumps(results))
"""

CASES = {
    "flask help": [*FLASK, "--help"],
    "crm help": [*FLASK, "crm", "--help"],
    "every help": [sys.executable, "-c", SWEEP],
    "command without secret": [*FLASK, "crm", "create-token", "someone@example.com"],
    "server without secret": [sys.executable, "-c", "import wsgi"],
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Every case's (exit code, stdout, stderr), the processes run side by side."""
    instance = tmp_path_factory.mktemp("instance")
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        CRM_INSTANCE_DIR=str(instance),  # the default SQLite file's folder, never created here
        # A database that cannot be reached: anything that connected would fail loudly.
        DATABASE_URL="postgresql://nobody@127.0.0.1:9/nowhere",
        FLASK_SKIP_DOTENV="1",  # a developer's .env must not set CRM_CONFIG for these tests
    )
    processes = {
        name: subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, args in CASES.items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        results[name] = (process.returncode, stdout, stderr)
    assert not list(instance.iterdir()), "a --help or a refused command created files"
    return results


def test_flask_help_lists_the_apps_commands_without_secrets(ran):
    code, out, err = ran["flask help"]
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    commands = out.split("Commands:")[1]
    for name in ("crm", "planning", "db", "routes"):
        assert f"\n  {name} " in commands


def test_crm_help_lists_every_crm_command_without_secrets(ran):
    code, out, err = ran["crm help"]
    assert code == 0, err
    assert err == ""
    assert out.splitlines()[0].endswith(" -m flask crm [OPTIONS] COMMAND [ARGS]...")
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()}
    assert {"create-user", "create-token", "import", "seed-demo", "worker", "serve",
            "mail", "scoring", "tracking"} <= listed


def test_every_group_and_command_shows_its_help_without_secrets(ran):
    code, out, err = ran["every help"]
    assert code == 0, err
    results = json.loads(out)
    # The tree as registered, features included (mail, scoring, tracking register themselves).
    for path in ("crm import contacts", "crm mail send-due", "crm scoring train",
                 "crm tracking recompute-verdicts", "crm seed-demo", "crm serve",
                 "planning export", "planning import-deals"):
        assert path in results
    failed = {path: result for path, result in results.items()
              if result["exit_code"] != 0 or result["exception"]
              or not result["output"].startswith(f"Usage: flask {path} ")}
    assert not failed


def test_a_command_without_the_production_secret_says_what_to_set_in_one_line(ran):
    code, out, err = ran["command without secret"]
    assert code != 0
    assert out == ""
    assert err.splitlines() == [MISSING_SECRET]


def test_a_wsgi_server_still_refuses_to_start_without_the_secret(ran):
    code, _out, err = ran["server without secret"]
    assert code != 0
    assert "SECRET_KEY must be set" in err
