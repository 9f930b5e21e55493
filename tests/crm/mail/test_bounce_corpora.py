"""Accuracy on public bounce corpora (tests/fixtures/bounces/README.md): the classifier must
agree with the labels the projects publish on at least 95% of the messages, for both
decisions (bounce or not, hard or soft), and no machine message may pass for a reply.

The figures are computed by the benchmark itself (``bench/bounce_classification.py``), so
the test and the printed confusion matrices can never disagree."""
from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TARGET = 0.95


def _bench():
    if "bounce_bench" in sys.modules:
        return sys.modules["bounce_bench"]
    spec = importlib.util.spec_from_file_location("bounce_bench", ROOT / "bench" / "bounce_classification.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bounce_bench"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scores():
    logging.disable(logging.CRITICAL)  # 567 classifications log a line each
    try:
        per_corpus, overall = _bench().score_all()
    finally:
        logging.disable(logging.NOTSET)
    return {score.corpus: score for score in per_corpus}, overall


def test_the_corpora_hold_hundreds_of_labelled_real_messages():
    folders = sorted(p for p in (ROOT / "tests" / "fixtures" / "bounces").iterdir() if p.is_dir())
    assert [p.name for p in folders] == ["flanker", "sisimai"]
    total = 0
    for folder in folders:
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        assert (folder / "LICENSE").is_file()
        assert all((folder / "emails" / name).is_file() for name in labels)
        total += len(labels)
    assert total >= 500


def test_bounce_or_not_agrees_with_the_published_labels(scores):
    per_corpus, overall = scores
    assert overall.messages >= 500
    assert overall.bounce_agreement >= TARGET, _bench().report(overall)
    for score in per_corpus.values():
        assert score.bounce_agreement >= TARGET, _bench().report(score)


def test_hard_or_soft_agrees_with_the_published_labels(scores):
    per_corpus, overall = scores
    assert sum(overall.kind_matrix.values()) >= 500
    assert overall.kind_agreement >= TARGET, _bench().report(overall)
    assert per_corpus["sisimai"].kind_agreement >= TARGET, _bench().report(per_corpus["sisimai"])


def test_no_delivery_report_complaint_or_auto_reply_comes_out_as_a_reply(scores):
    _per_corpus, overall = scores
    assert overall.replies == 0


def test_the_benchmark_counts_a_wrong_answer_as_a_disagreement(tmp_path, monkeypatch):
    """The scorer itself: a corpus whose labels are all wrong scores 0, so a broken classifier
    or a broken scorer cannot pass the tests above by construction."""
    bench = _bench()
    source = ROOT / "tests" / "fixtures" / "bounces" / "sisimai"
    corpus = tmp_path / "wrong"
    (corpus / "emails").mkdir(parents=True)
    names = ["lhost-qmail-01.eml", "lhost-postfix-01.eml", "rfc3834-01.eml"]
    labels = json.loads((source / "labels.json").read_text(encoding="utf-8"))
    wrong = {}
    for name in names:
        (corpus / "emails" / name).write_bytes((source / "emails" / name).read_bytes())
        right = labels[name]
        wrong[name] = ({"classification": "other", "bounce_type": None} if right["classification"] == "bounce"
                       else {"classification": "bounce", "bounce_type": "hard"})
    (corpus / "labels.json").write_text(json.dumps(wrong), encoding="utf-8")
    score = bench.score_corpus(corpus)
    assert score.messages == 3 and score.bounce_agreement == 0.0
    assert score.kind_agreement == 0.0 and len(score.misses) == 3
