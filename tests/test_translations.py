"""Two languages, complete (issue #17): no template shows text that is not marked for
translation, and the Spanish catalogue translates every marked string (none missing, none
fuzzy, the same placeholders). ``make translations`` refreshes the catalogue after changes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.template_text import unmarked

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CATALOGUE = ROOT / "crm" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")  # gettext's and str.format's

TEMPLATE_FILES = sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_shown_text_in_templates_is_marked(path):
    problems = unmarked(path.read_text(encoding="utf-8"), html=path.suffix == ".html")
    assert not problems, "wrap in {{ _('...') }}:\n" + "\n".join(f"  line {n}: {text}" for n, text in problems)


def test_the_checker_finds_unmarked_text_and_accepts_marked_text():
    source = """{% extends "base.html" %}{% block content %}
    <h1>{{ _('Contacts') }} <span class="count">{{ n|number }}</span></h1>
    <p>Showing {{ n }} of {{ total }}</p>
    <input placeholder="Search by name">
    <a href="{{ url_for('x') }}"{% if a %} aria-current="page"{% endif %} title="{{ _('Open') }}">P</a>
    <script>const label = "not text";</script><code>data-crm-ignore</code>
    <!-- a comment --> {# a Jinja comment #} &middot; — 42
    {% endblock %}"""
    found = [text for _line, text in unmarked(source)]
    assert found == ["Showing of", "Search by name"]


def _marked_messages() -> dict[str, tuple]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        if any(part.startswith(".") or part in ("tests", "build") for part in Path(filename).parts):
            continue
        key = message if isinstance(message, str) else message[0]
        found.setdefault(key, (filename, message))
    return found


@pytest.fixture(scope="module")
def catalogue():
    with CATALOGUE.open("rb") as po_file:
        return read_po(po_file, locale="es")


def test_the_spanish_catalogue_translates_every_marked_string(catalogue):
    marked = _marked_messages()
    assert len(marked) > 1000  # the extraction itself works
    missing = [f"{where}: {key!r}" for key, (where, _m) in marked.items()
               if key not in catalogue or not _translated(catalogue[key])]
    fuzzy = [repr(m.id) for m in catalogue if m.id and m.fuzzy]
    assert not missing, f"{len(missing)} strings have no Spanish (run `make translations`, translate):\n" + \
        "\n".join(missing[:60])
    assert not fuzzy, "fuzzy (check and clear the flag):\n" + "\n".join(fuzzy[:60])


def _translated(message) -> bool:
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def test_translations_keep_the_placeholders(catalogue):
    wrong = []
    for message in catalogue:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:  # (named, braced) pairs
                wrong.append(f"{message.id!r} -> {text!r}")
    assert not wrong, "\n".join(wrong[:40])
