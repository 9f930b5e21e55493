"""Finds the words a template shows people (issue #17): the text between HTML tags and the
human attributes (placeholder, title, aria-label, alt, data-label), with Jinja's own
constructs read as opaque pieces. ``tests/test_translations.py`` fails on any such text that
is not inside ``{{ _('...') }}``.

A small HTML state machine walks the template: Jinja's ``{{ }}``, ``{% %}`` and ``{# #}`` are
skipped whole (so a tag whose attributes come from ``{% if %}`` still parses), ``<script>``,
``<style>`` and comments are not text. A *run* is what lies between two tags or block
statements: literal text and ``{{ expressions }}`` together, as a translator should see
it ("Showing %(n)s of %(total)s")."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
CLASS_BLOCK = re.compile(r"\{%-?\s*block\s+body_class\b")
HUMAN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-label")
RAW_TAGS = ("script", "style")
CODE_TAGS = ("code", "kbd", "samp")
LETTER = re.compile(r"[^\W\d_]")
# Text that is not language: entities, symbols, codes people read the same in any language.
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;")
# Shown as they are in every language: the brand, its one-letter mark, units and codes.
ALLOWED = frozenset({
    "P", "Prospect CRM", "CSV", "JSON", "API", "UTC", "ICS", "URL", "IP", "ID", "CRM", "S&amp;OP",
    "S&OP", "MAPE", "WAPE", "min", "h", "s", "m", "d", "x", "×", "%", "vs", "OK", "KPI", "SKU", "ISO",
    "YYYY-MM-DD", "MXN", "EUR", "USD", "Q1", "Q2", "Q3", "Q4", "CET", "HTML", "SMTP", "IMAP",
})


@dataclass
class Piece:
    kind: str  # "text" or "var"
    start: int
    end: int
    value: str


@dataclass
class Run:
    """Text shown to people: literal text and ``{{ }}`` pieces, start and end in the source."""
    pieces: list[Piece] = field(default_factory=list)
    attribute: str | None = None
    code: bool = False  # inside <code>/<kbd>: a name typed as is, not language

    @property
    def literal(self) -> str:
        return "".join(p.value for p in self.pieces if p.kind == "text")

    def needs_marking(self) -> bool:
        text = " ".join(self.literal.split())
        if self.code or text in ALLOWED or text.strip(" ·:()—–-,.") in ALLOWED:
            return False
        return bool(LETTER.search(ENTITY.sub(" ", text)))


def _jinja_spans(source: str) -> dict[int, int]:
    return {m.start(): m.end() for m in JINJA.finditer(source)}


def scan(source: str, html: bool = True) -> list[Run]:
    """Every run of shown text in a template's source (``html=False`` for mail ``.txt``:
    each line is a run)."""
    spans = _jinja_spans(source)
    runs: list[Run] = []
    current = Run()
    state = "text"
    raw_tag = ""
    quote = ""
    attr_name = ""
    tag_buffer = ""
    open_tag = ""
    i = 0
    n = len(source)

    def close_run():
        nonlocal current
        if current.pieces:
            runs.append(current)
        current = Run(attribute=current.attribute if state == "attr" else None,
                      code=open_tag in CODE_TAGS and state == "text")

    while i < n:
        if i in spans:
            end = spans[i]
            token = source[i:end]
            if CLASS_BLOCK.match(token):  # a block filling an attribute (body_class): not text
                closing = source.find("{% endblock", end)
                i = end if closing < 0 else closing
                continue
            if state in ("text", "attr") and token.startswith("{{"):
                current.pieces.append(Piece("var", i, end, token))
            elif state in ("text", "attr"):
                close_run()
            i = end
            continue
        ch = source[i]
        if state == "text":
            if not html and ch == "\n":
                close_run()
                i += 1
                continue
            if html and ch == "<" and source.startswith("<!--", i):
                close_run()
                end = source.find("-->", i)
                i = n if end < 0 else end + 3
                continue
            if html and ch == "<" and i + 1 < n and (source[i + 1].isalpha() or source[i + 1] in "/!"):
                close_run()
                m = re.match(r"</?([a-zA-Z0-9-]+)", source[i:])
                tag = m.group(1).lower() if m else ""
                open_tag = "" if source[i + 1] == "/" else tag
                state = "tag"
                raw_tag = tag if tag in RAW_TAGS and source[i + 1] != "/" else ""
                tag_buffer = ""
                i += 1
                continue
            _append_text(current, i, ch)
            i += 1
        elif state == "tag":
            if ch in "\"'":
                m = re.search(r"([a-zA-Z-]+)\s*=\s*$", tag_buffer)
                attr_name = m.group(1).lower() if m else ""
                quote = ch
                state = "attr" if attr_name in HUMAN_ATTRIBUTES else "quoted"
                current = Run(attribute=attr_name if state == "attr" else None)
            elif ch == ">":
                state = "text"
                current.code = open_tag in CODE_TAGS
                if raw_tag:
                    end = source.lower().find(f"</{raw_tag}", i)
                    i = n if end < 0 else end
                    raw_tag = ""
                    continue
            else:
                tag_buffer += ch
            i += 1
        elif state in ("quoted", "attr"):
            if ch == quote:
                if state == "attr":
                    close_run()
                state = "tag"
                tag_buffer = ""
            elif state == "attr":
                _append_text(current, i, ch)
            i += 1
    if state == "text":
        close_run()
    return [run for run in runs if any(p.kind == "text" and p.value.strip() for p in run.pieces)]


def _append_text(run: Run, index: int, ch: str) -> None:
    if run.pieces and run.pieces[-1].kind == "text" and run.pieces[-1].end == index:
        last = run.pieces[-1]
        last.value += ch
        last.end = index + 1
    else:
        run.pieces.append(Piece("text", index, index + 1, ch))


def unmarked(source: str, html: bool = True) -> list[tuple[int, str]]:
    """(line, text) of every shown text that is not translatable."""
    problems = []
    for run in scan(source, html):
        if run.needs_marking():
            line = source.count("\n", 0, run.pieces[0].start) + 1
            problems.append((line, " ".join(run.literal.split())))
    return problems
