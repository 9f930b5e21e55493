"""Rebuild the public bounce fixtures under tests/fixtures/bounces/ from repository snapshots.

Not part of the app or the test run; kept so anyone can check where every sample and label
came from. Usage::

    python bench/import_bounce_corpora.py --sisimai-emails <git-dir of sisimai/set-of-emails> \
        --sisimai-tests <git-dir of sisimai/p5-sisimai> --flanker <git-dir of mailgun/flanker>

Labels are the projects' own: sisimai's per-sample expectations in p5-sisimai's ``t/*.t``
(``'01' => [['5.1.1', '550', 'userunknown', 1]]``: status, reply code, reason, hardbounce),
flanker's fixture folder (``messages/bounce/``: every file is a bounce) and its file names.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "bounces"
SISIMAI_SKIPS = {"lhost-postfix-49.eml", "lhost-postfix-50.eml"}  # sisimai's own tests skip them ($skiptonext)
NOT_BOUNCE = {"delivered": "other", "feedback": "other", "vacation": "auto_reply"}
_ENGINE = re.compile(r"my \$enginename\s*=\s*'([^']+)'")
_EXPECTED = re.compile(r"my \$isexpected\s*=\s*\{(.*?)\n\};", re.S)
_SAMPLE = re.compile(r"'(\d+)'\s*=>\s*\[(.*?)\]\s*\](?=\s*,|\s*$)", re.S)
_ENTRY = re.compile(r"\[\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*(\d)")
# flanker publishes is_bounce for its whole bounce folder; hard/soft comes from the status its
# tests assert (zed 5.1.1, office365 5.1.10), the report's own Action: delayed (delayed*,
# no-mx) or what the file is named after; None where nothing published says (broken-mime).
FLANKER = {
    "broken-mime.eml": None, "delayed-broken.eml": "soft", "delayed.eml": "soft",
    "gmail-invalid-address.eml": "hard", "gmail-no-dns.eml": "hard", "mailbox-full.eml": "soft",
    "no-mx.eml": "soft", "office365.eml": "hard", "zed.eml": "hard",
}


def git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout


def sisimai_labels(tests_git: str) -> dict[str, dict]:
    names = git(tests_git, "ls-tree", "--name-only", "HEAD", "t/").decode().split()
    labels: dict[str, dict] = {}
    for name in names:
        match = re.match(r"t/\d{3}-(lhost|rhost|rfc3464|rfc3834|arf)", name)
        if not match or not name.endswith(".t"):
            continue
        source = git(tests_git, "show", f"HEAD:{name}").decode()
        engine, expected = _ENGINE.search(source), _EXPECTED.search(source)
        if not engine or not expected:
            continue
        kind = match.group(1)
        prefix = f"{kind}-" if kind in ("lhost", "rhost") else ""
        for index, body in _SAMPLE.findall(expected.group(1)):
            entries = [(s, r, reason, int(h)) for s, r, reason, h in _ENTRY.findall(body)]
            if entries:
                labels[f"{prefix}{engine.group(1).lower()}-{int(index):02d}.eml"] = _label(entries, name)
    return labels


def _label(entries, test_file: str) -> dict:
    bounced = [e for e in entries if e[2] not in NOT_BOUNCE]
    if bounced:
        expected = {"classification": "bounce", "bounce_type": "hard" if any(e[3] for e in bounced) else "soft"}
    else:
        expected = {"classification": NOT_BOUNCE[entries[0][2]], "bounce_type": None}
    return {**expected, "sisimai": [{"status": s, "reply": r, "reason": reason, "hardbounce": bool(h)}
                                    for s, r, reason, h in entries], "source": test_file}


def import_sisimai(emails_git: str, tests_git: str) -> int:
    out = FIXTURES / "sisimai" / "emails"
    out.mkdir(parents=True, exist_ok=True)
    available = set(git(emails_git, "ls-tree", "--name-only", "HEAD", "maildir/bsd/", "maildir/not/").decode().split())
    labels = {}
    for filename, label in sorted(sisimai_labels(tests_git).items()):
        if f"maildir/bsd/{filename}" not in available or filename in SISIMAI_SKIPS:
            continue
        (out / filename).write_bytes(git(emails_git, "show", f"HEAD:maildir/bsd/{filename}"))
        labels[filename] = label
    for path in sorted(p for p in available if p.startswith("maildir/not/")):  # "is not a bounce mail"
        filename = "not-" + path.rsplit("/", 1)[1]
        (out / filename).write_bytes(git(emails_git, "show", f"HEAD:{path}"))
        labels[filename] = {"classification": "not_bounce", "bounce_type": None, "source": path}
    (FIXTURES / "sisimai" / "LICENSE").write_bytes(git(emails_git, "show", "HEAD:LICENSE"))
    _write_labels(FIXTURES / "sisimai" / "labels.json", labels)
    return len(labels)


def import_flanker(flanker_git: str) -> int:
    out = FIXTURES / "flanker" / "emails"
    out.mkdir(parents=True, exist_ok=True)
    labels = {}
    for filename, kind in FLANKER.items():
        (out / filename).write_bytes(git(flanker_git, "show", f"HEAD:tests/fixtures/messages/bounce/{filename}"))
        labels[filename] = {"classification": "bounce", "bounce_type": kind,
                            "source": f"tests/fixtures/messages/bounce/{filename}"}
    (FIXTURES / "flanker" / "LICENSE").write_bytes(git(flanker_git, "show", "HEAD:LICENSE"))
    _write_labels(FIXTURES / "flanker" / "labels.json", labels)
    return len(labels)


def _write_labels(path: Path, labels: dict) -> None:
    path.write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sisimai-emails", required=True)
    parser.add_argument("--sisimai-tests", required=True)
    parser.add_argument("--flanker", required=True)
    args = parser.parse_args()
    print("sisimai:", import_sisimai(args.sisimai_emails, args.sisimai_tests), "messages")
    print("flanker:", import_flanker(args.flanker), "messages")


if __name__ == "__main__":
    main()
