"""The admin's "recompute all scores" and "train the model" buttons run in the worker
(``crm.jobs``): both read every contact and event, seconds to minutes on a real CRM, far past
what a web request may spend (issue #19). The button queues the job (or shows the one already
queued or running: one at a time of each) and the job's status page shows the outcome."""
from __future__ import annotations

import json

from crm.jobs.runner import JobKind, JobRun
from crm.scoring.predictive import train_from_crm
from crm.scoring.scores import recompute_all

RECOMPUTE = "scoring.recompute"
TRAIN = "scoring.train"


def run_recompute(run: JobRun) -> None:
    run.begin_chunk()
    result = recompute_all(run.now())
    run.checkpoint(total=1, done=1, result=dict(result))  # committed with the scores


def run_train(run: JobRun) -> None:
    run.begin_chunk()
    report = train_from_crm(run.now())  # ValidationFailed (too little history): the job fails with it
    run.checkpoint(total=1, done=1, result=json.loads(json.dumps(report, default=float)))


RECOMPUTE_KIND = JobKind(name=RECOMPUTE, run=run_recompute, title="Recomputing every score",
                         result_template="jobs/_scoring_recompute.html", back_endpoint="scoring.admin")
TRAIN_KIND = JobKind(name=TRAIN, run=run_train, title="Training the scoring model",
                     result_template="jobs/_scoring_train.html", back_endpoint="scoring.admin")
