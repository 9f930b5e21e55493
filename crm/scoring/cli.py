"""``flask --app wsgi crm scoring ...``: train the predictive model, recompute scores."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _, _l, cli_option, ngettext
from crm.scoring.history import train_from_csv
from crm.scoring.predictive import train_from_crm
from crm.scoring.scores import recompute_all
from crm.timeutil import utcnow

scoring_cli = AppGroup("scoring", help=_l("Lead scores: train the predictive model, recompute."))


def _fail(exc: ServiceError):
    db.session.rollback()
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(exc.message + (f" ({details})" if details else ""))


@scoring_cli.command("train", help=_l(
    "Train the predictive model on this CRM's history (prints its metrics next to the engagement score "
    "alone), or with --history on an exported file (prints one JSON object)."))
@cli_option("--history", "history", type=click.Path(dir_okay=False), default=None,
            help=_l("A CSV exported from another CRM: one row per contact, in time order."))
@cli_option("--outcome", default=None, help=_l("With --history: the column saying whether they converted."))
@cli_option("--expected-rate", type=float, default=None,
            help=_l("With --history: the success rate expected from now on (0-1), when it differs from the "
                    "file's latest rows; the stored model's probabilities are shifted to it."))
def train_command(history, outcome, expected_rate):
    try:
        if history:
            if not outcome:
                raise click.UsageError(_("--history needs --outcome COLUMN"))
            try:
                with open(history, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise click.ClickException(_("cannot read %(path)s: %(reason)s", path=history,
                                             reason=exc.strerror)) from None
            report = train_from_csv(data, outcome, utcnow(), expected_rate=expected_rate)
            db.session.commit()
            click.echo(json.dumps(report))  # for scripts: one JSON object, never translated
            _compare_with_plain_logistic(report)
            return
        report = train_from_crm(utcnow())
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    model, baseline = report["model"], report["engagement_alone"]
    click.echo(_("model v%(version)s: %(train)s training rows, %(test)s holdout rows (%(converted)s converted "
                 "in the holdout)", version=report["version"], train=format(report['n_train'], ","),
                 test=format(report['n_test'], ","), converted=report["positives_test"]))
    click.echo(f"{'':20}{'AUC':>8}{'lift@10%':>10}{'Brier':>8}")  # the metrics' own names
    for name, m in ((_("predictive model"), model), (_("engagement alone"), baseline)):
        click.echo(f"{name:20}{m['auc']:>8.3f}{m['lift_top_decile']:>10.2f}{m['brier']:>8.4f}")
    click.echo(_("scored %(n)s open contacts", n=format(report['scored_contacts'], ",")))
    if model["auc"] <= baseline["auc"]:
        click.echo(_("warning: the model does not beat the engagement score alone"), err=True)
        sys.exit(0)


def _compare_with_plain_logistic(report: dict) -> None:
    """A readable summary on stderr (stdout stays one JSON object)."""
    ours, plain, drift = report["auc"], report["plain_logistic"]["auc"], report["drift"]
    click.echo(_("holdout AUC %(auc)s (plain logistic regression %(plain)s), Brier %(brier)s (%(plain_brier)s), "
                 "ECE %(ece)s; model: %(model)s", auc=format(ours, ".3f"), plain=format(plain, ".3f"),
                 brier=format(report['brier'], ".4f"), plain_brier=format(report['plain_logistic']['brier'], ".4f"),
                 ece=format(report['ece'], ".4f"), model=report["model"]), err=True)
    if drift["drifted"]:
        click.echo(_("warning: the success rate drifted (training %(training)s, latest window %(window)s, holdout "
                     "%(holdout)s; predicted %(predicted)s): pass --expected-rate if you know today's rate",
                     training=format(drift["training_rate"], ".1%"), window=format(drift["window_rate"], ".1%"),
                     holdout=format(drift["holdout_rate"], ".1%"),
                     predicted=format(drift["predicted_holdout_rate"], ".1%")),
                   err=True)


@scoring_cli.command("recompute", help=_l("Rebuild every score exactly from the stored events and the current rules."))
def recompute_command():
    result = recompute_all(utcnow())
    db.session.commit()
    click.echo(" ".join((
        ngettext("recomputed %(contacts)s contact", "recomputed %(contacts)s contacts", result["contacts"],
                 contacts=format(result["contacts"], ",")),
        ngettext("from %(events)s event", "from %(events)s events", result["events"],
                 events=format(result["events"], ",")))))
