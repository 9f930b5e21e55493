"""Benchmark: bounce classification against the labels public bounce corpora publish.

    .venv/bin/python bench/bounce_classification.py            # every corpus, summary and matrices
    .venv/bin/python bench/bounce_classification.py --misses   # also list each disagreement

Reads ``tests/fixtures/bounces/<corpus>/labels.json`` (where each label comes from is in
that folder's README) and classifies every message with ``classify_message``. Two decisions
are scored, per corpus and overall:

1. bounce or not: the label's classification is "bounce" or anything else;
2. hard or soft: over the messages the corpus labels as bounces (a bounce we missed counts
   as a disagreement here too).

It also counts the machine non-bounces (delivered reports, complaints, auto-replies) that came out
"reply": a machine message must never pass for a person's answer. The tests in
``tests/crm/mail/test_bounce_corpora.py`` assert the same figures (>= 0.95).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "tests" / "fixtures" / "bounces"
NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)  # only return dates depend on it
OUTCOMES = ("hard", "soft", "not bounce")


@dataclass
class Score:
    corpus: str
    bounce_matrix: Counter = field(default_factory=Counter)  # (expected bounce?, got bounce?)
    kind_matrix: Counter = field(default_factory=Counter)    # (expected hard|soft, got hard|soft|not bounce)
    replies: int = 0                                         # non-replies classified "reply"
    misses: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.bounce_matrix.update(other.bounce_matrix)
        self.kind_matrix.update(other.kind_matrix)
        self.replies += other.replies
        self.misses.extend(other.misses)

    @property
    def messages(self) -> int:
        return sum(self.bounce_matrix.values())

    @property
    def bounce_agreement(self) -> float:
        return _share(sum(n for (want, got), n in self.bounce_matrix.items() if want == got), self.messages)

    @property
    def kind_agreement(self) -> float:
        total = sum(self.kind_matrix.values())
        return _share(sum(n for (want, got), n in self.kind_matrix.items() if want == got), total)


def _share(part: int, total: int) -> float:
    return part / total if total else 1.0


def corpora() -> list[Path]:
    return sorted(p for p in CORPORA.iterdir() if (p / "labels.json").is_file())


def score_corpus(folder: Path) -> Score:
    from crm.mail.inbound.classify import classify_message

    score = Score(folder.name)
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    for name, label in sorted(labels.items()):
        verdict = classify_message((folder / "emails" / name).read_bytes(), now=NOW)
        want_bounce = label["classification"] == "bounce"
        got_bounce = verdict.classification == "bounce"
        score.bounce_matrix[(want_bounce, got_bounce)] += 1
        got_kind = verdict.bounce_type if got_bounce else "not bounce"
        if want_bounce and label["bounce_type"]:  # None: the corpus publishes no hard/soft for it
            score.kind_matrix[(label["bounce_type"], got_kind)] += 1
        elif verdict.classification == "reply" and label["classification"] in ("other", "auto_reply"):
            score.replies += 1
        if want_bounce != got_bounce or (want_bounce and label["bounce_type"] not in (None, got_kind)):
            expected = label["bounce_type"] or label["classification"]
            reasons = "; ".join(verdict.reasons)[:300]
            score.misses.append(f"{folder.name}/{name}: expected {expected}, got "
                                f"{verdict.classification} {verdict.bounce_type or ''} ({reasons})")
    return score


def score_all() -> tuple[list[Score], Score]:
    scores = [score_corpus(folder) for folder in corpora()]
    overall = Score("overall")
    for score in scores:
        overall.add(score)
    return scores, overall


def report(score: Score) -> str:
    bm, km = score.bounce_matrix, score.kind_matrix
    lines = [
        f"== {score.corpus}: {score.messages} messages",
        "  bounce / not bounce      got bounce  got not",
        f"    labelled bounce        {bm[(True, True)]:>10}  {bm[(True, False)]:>7}",
        f"    labelled not bounce    {bm[(False, True)]:>10}  {bm[(False, False)]:>7}",
        f"  agreement {score.bounce_agreement:.1%}",
        "  hard / soft              " + "".join(f"{'got ' + o:>15}" for o in OUTCOMES),
    ]
    for want in ("hard", "soft"):
        lines.append(f"    labelled {want:<13} " + "".join(f"{km[(want, got)]:>15}" for got in OUTCOMES))
    lines.append(f"  agreement {score.kind_agreement:.1%} (over {sum(km.values())} labelled bounces)")
    lines.append(f"  non-bounces classified as a human reply: {score.replies}")
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    import logging

    logging.disable(logging.CRITICAL)
    scores, overall = score_all()
    for score in [*scores, overall]:
        print(report(score))
        if args.misses and score is not overall:
            print("\n".join("    " + miss for miss in score.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
