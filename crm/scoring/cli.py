"""``flask --app wsgi crm scoring ...``: train the predictive model, recompute scores."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from crm.errors import ServiceError
from crm.extensions import db
from crm.scoring.history import train_from_csv
from crm.scoring.predictive import train_from_crm
from crm.scoring.scores import recompute_all
from crm.timeutil import utcnow

scoring_cli = AppGroup("scoring", help="Lead scores: train the predictive model, recompute.")


def _fail(exc: ServiceError):
    db.session.rollback()
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(exc.message + (f" ({details})" if details else ""))


@scoring_cli.command("train")
@click.option("--history", "history", type=click.Path(dir_okay=False), default=None,
              help="A CSV exported from another CRM: one row per contact, in time order.")
@click.option("--outcome", default=None, help="With --history: the column saying whether they converted.")
@click.option("--expected-rate", type=float, default=None,
              help="With --history: the success rate expected from now on (0-1), when it differs from the "
                   "file's latest rows; the stored model's probabilities are shifted to it.")
def train_command(history, outcome, expected_rate):
    """Train the predictive model on this CRM's history (prints its metrics next to the
    engagement score alone), or with --history on an exported file (prints one JSON object)."""
    try:
        if history:
            if not outcome:
                raise click.UsageError("--history needs --outcome COLUMN")
            try:
                with open(history, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise click.ClickException(f"cannot read {history}: {exc.strerror}") from None
            report = train_from_csv(data, outcome, utcnow(), expected_rate=expected_rate)
            db.session.commit()
            click.echo(json.dumps(report))
            _compare_with_plain_logistic(report)
            return
        report = train_from_crm(utcnow())
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    model, baseline = report["model"], report["engagement_alone"]
    click.echo(f"model v{report['version']}: {report['n_train']:,} training rows, {report['n_test']:,} holdout rows "
               f"({report['positives_test']} converted in the holdout)")
    click.echo(f"{'':20}{'AUC':>8}{'lift@10%':>10}{'Brier':>8}")
    for name, m in (("predictive model", model), ("engagement alone", baseline)):
        click.echo(f"{name:20}{m['auc']:>8.3f}{m['lift_top_decile']:>10.2f}{m['brier']:>8.4f}")
    click.echo(f"scored {report['scored_contacts']:,} open contacts")
    if model["auc"] <= baseline["auc"]:
        click.echo("warning: the model does not beat the engagement score alone", err=True)
        sys.exit(0)


def _compare_with_plain_logistic(report: dict) -> None:
    """A readable summary on stderr (stdout stays one JSON object)."""
    ours, plain, drift = report["auc"], report["plain_logistic"]["auc"], report["drift"]
    click.echo(f"holdout AUC {ours:.3f} (plain logistic regression {plain:.3f}), Brier {report['brier']:.4f} "
               f"({report['plain_logistic']['brier']:.4f}), ECE {report['ece']:.4f}; model: {report['model']}",
               err=True)
    if drift["drifted"]:
        click.echo(f"warning: the success rate drifted (training {drift['training_rate']:.1%}, latest window "
                   f"{drift['window_rate']:.1%}, holdout {drift['holdout_rate']:.1%}; predicted "
                   f"{drift['predicted_holdout_rate']:.1%}): pass --expected-rate if you know today's rate",
                   err=True)


@scoring_cli.command("recompute")
def recompute_command():
    """Rebuild every score exactly from the stored events and the current rules."""
    result = recompute_all(utcnow())
    db.session.commit()
    click.echo(f"recomputed {result['contacts']:,} contacts from {result['events']:,} events")
