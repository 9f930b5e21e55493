"""The command line speaks the operator's language (issue #17): ``CRM_LANGUAGE``, else the POSIX
locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), applied once by the ``crm`` and ``planning``
groups (``crm.i18n.OperatorLanguageGroup``) to every command under them, although a command line
has no request: messages, errors from the services and ``--help``.

The Spanish checks use strings the catalogue already translates (a service's error, a step's
name), or put one entry into the loaded Spanish catalogue for the length of a test (help texts)."""
from __future__ import annotations

import contextvars

import click
import pytest
from flask import g, has_request_context
from flask.cli import ScriptInfo
from flask_babel import force_locale, get_domain, get_locale

from crm.i18n import (
    OperatorLanguageGroup,
    _,
    _l,
    cli_option,
    language_of,
    operator_language,
    select_format_locale,
)

# Every locale variable the operator's language may come from; None unsets it for the run.
CLEAR = {"CRM_LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}
SPANISH_ENVIRONMENTS = {
    "CRM_LANGUAGE=es": {**CLEAR, "CRM_LANGUAGE": "es", "LANG": "C"},
    "LANG=es_MX.UTF-8": {**CLEAR, "LANG": "es_MX.UTF-8"},
}
ENGLISH = {**CLEAR, "LANG": "C"}


@pytest.mark.parametrize("environ, expected", [
    ({}, "en"),
    ({"LANG": "es_MX.UTF-8"}, "es-MX"),
    ({"LANG": "es_ES.UTF-8@euro"}, "es-ES"),
    ({"LANG": "es"}, "es"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),          # a language we do not have
    ({"LANG": "en_GB.UTF-8"}, "en-GB"),
    # LC_ALL over LC_MESSAGES over LANG; an empty variable counts as unset
    ({"LC_ALL": "es_MX.UTF-8", "LC_MESSAGES": "en_US.UTF-8", "LANG": "en_US.UTF-8"}, "es-MX"),
    ({"LC_ALL": "", "LC_MESSAGES": "es_MX.UTF-8", "LANG": "en_US.UTF-8"}, "es-MX"),
    ({"LC_ALL": "C", "LANG": "es_MX.UTF-8"}, "en"),
    # CRM_LANGUAGE first, whatever the locale says
    ({"CRM_LANGUAGE": "es", "LC_ALL": "en_US.UTF-8"}, "es"),
    ({"CRM_LANGUAGE": "en", "LANG": "es_MX.UTF-8"}, "en"),
    ({"CRM_LANGUAGE": "es_mx", "LANG": "C"}, "es-MX"),
    ({"CRM_LANGUAGE": " ", "LANG": "es_MX.UTF-8"}, "es-MX"),
    ({"CRM_LANGUAGE": "de", "LANG": "es_MX.UTF-8"}, "en"),
])
def test_the_operators_language_comes_from_crm_language_then_the_posix_locale(environ, expected):
    assert operator_language(environ) == expected


# --- the mechanism: a command under the group, no request ---------------------------------

probe_group = OperatorLanguageGroup("probe", help=_l("Email and website tracking."))


@probe_group.command("where")
def where_command():
    locale = get_locale()
    click.echo(f"request={has_request_context()} catalogue={locale.language if locale else None} "
               f"formats={select_format_locale()} says={_('Password')}")


def _invoke_probe(app, env, without_app_context=False):
    runner = app.test_cli_runner()
    if not without_app_context:
        return runner.invoke(probe_group, ["where"], env=env)
    # As `flask` starts: no app context (an empty context-variable context) until the group pushes one.
    return contextvars.Context().run(
        runner.invoke, probe_group, ["where"], env=env, obj=ScriptInfo(create_app=lambda: app))


@pytest.mark.parametrize("name", SPANISH_ENVIRONMENTS)
@pytest.mark.parametrize("without_app_context", [False, True])
def test_a_command_reads_the_spanish_catalogue_without_a_request(app, name, without_app_context):
    result = _invoke_probe(app, SPANISH_ENVIRONMENTS[name], without_app_context)
    assert result.exit_code == 0, result.output
    expected_formats = "es" if name == "CRM_LANGUAGE=es" else "es-MX"
    assert result.output.strip() == (
        f"request=False catalogue=es formats={expected_formats} says=Contraseña")


def test_a_command_reads_english_under_the_c_locale_and_leaves_the_context_as_it_found_it(app):
    assert _invoke_probe(app, SPANISH_ENVIRONMENTS["LANG=es_MX.UTF-8"]).exit_code == 0
    # The test's own app context (the one the command ran in) is English again.
    assert get_locale().language == "en" and g.get("crm_locale") is None and _("Password") == "Password"
    result = _invoke_probe(app, ENGLISH)
    assert result.output.strip() == "request=False catalogue=en formats=en says=Password"


# --- real commands ---------------------------------------------------------------------

@pytest.mark.parametrize("name", SPANISH_ENVIRONMENTS)
def test_crm_commands_print_the_services_messages_in_spanish(app, name):
    result = app.test_cli_runner().invoke(args=["crm", "currency", "base", "X1"], env=SPANISH_ENVIRONMENTS[name])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: moneda base no válida (currency: un código de moneda ISO 4217 como MXN, USD o EUR)")


def test_crm_commands_print_english_under_the_c_locale(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "currency", "base", "X1"], env=ENGLISH)
    assert result.output.strip() == (
        "Error: invalid base currency (currency: an ISO 4217 currency code such as MXN, USD or EUR)")
    assert runner.invoke(args=["crm", "currency", "base", "MXN"], env=ENGLISH).output == "Base currency: MXN\n"


def test_planning_commands_speak_the_operators_language(app, tmp_path):
    bad = tmp_path / "actuals.csv"
    bad.write_text("family,period,units,revenue\nPUMP,not-a-month,1,2\n")
    runner = app.test_cli_runner()
    spanish = runner.invoke(args=["planning", "import-actuals", str(bad)], env=SPANISH_ENVIRONMENTS["LANG=es_MX.UTF-8"])
    english = runner.invoke(args=["planning", "import-actuals", str(bad)], env=ENGLISH)
    assert spanish.exit_code == english.exit_code == 1
    assert "línea 2: " in spanish.output and "line 2: " not in spanish.output
    assert "line 2: " in english.output and "nothing was imported" in english.output


# --- help texts --------------------------------------------------------------------------

HELP_ES = {
    "The base currency and exchange rates.": "La moneda base y los tipos de cambio.",
    "Record that 1 CODE = RATE base currency from --from on (replaces that day's rate).":
        "Registra que 1 CODE = RATE de la moneda base desde --from (reemplaza el tipo de ese día).",
    "first day the rate applies, YYYY-MM-DD": "primer día en que aplica el tipo, AAAA-MM-DD",
}


@pytest.fixture
def spanish_help(app):
    """The help texts above in the loaded Spanish catalogue, for this test only (the merged
    catalogue has them too; this keeps the test independent of when that happens)."""
    with force_locale("es"):
        catalogue = get_domain().get_translations()._catalog
    saved = {msgid: catalogue.get(msgid) for msgid in HELP_ES}
    catalogue.update(HELP_ES)
    yield
    for msgid, before in saved.items():
        if before is None:
            catalogue.pop(msgid, None)
        else:
            catalogue[msgid] = before


def test_help_texts_are_written_in_the_operators_language(app, spanish_help):
    runner = app.test_cli_runner()
    spanish_env = SPANISH_ENVIRONMENTS["CRM_LANGUAGE=es"]
    group = runner.invoke(args=["crm", "currency", "--help"], env=spanish_env).output
    assert "La moneda base y los tipos de cambio." in group
    assert "Registra que 1 CODE = RATE de la moneda base" in group  # the command's line in the list
    command = " ".join(runner.invoke(args=["crm", "currency", "rate", "--help"], env=spanish_env).output.split())
    assert "Registra que 1 CODE = RATE de la moneda base desde --from (reemplaza el tipo de ese día)." in command
    assert "primer día en que aplica el tipo, AAAA-MM-DD" in command
    listed = runner.invoke(args=["crm", "--help"], env=spanish_env).output
    assert "La moneda base y los tipos de cambio." in listed

    english = " ".join(runner.invoke(args=["crm", "currency", "rate", "--help"], env=ENGLISH).output.split())
    assert "Record that 1 CODE = RATE base currency from --from on (replaces that day's rate)." in english
    assert "first day the rate applies, YYYY-MM-DD" in english and "Registra" not in english


def test_an_options_lazy_help_survives_click_building_the_option():
    @click.command()
    @cli_option("--x", help=_l("first day the rate applies, YYYY-MM-DD"))
    def command(x):
        pass

    # Built at import, outside any app: click's tidying would have frozen the English text.
    assert not isinstance(command.params[0].help, str)


def test_every_command_group_the_app_registers_speaks_the_operators_language(app):
    for name in ("crm", "planning"):
        assert isinstance(app.cli.commands[name], OperatorLanguageGroup), name
    assert language_of(operator_language({"LANG": "es_MX.UTF-8"})) == "es"
