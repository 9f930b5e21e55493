"""Body text helpers: HTML to plain text (stdlib ``html.parser``) and cutting the quoted
history off a reply, the way Gmail, Outlook, Apple Mail and Thunderbird write it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Elements whose text is never shown.
_HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template", "xml"})
# Elements that start a new line.
_BLOCK = frozenset({
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "address", "dd", "dt",
})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"})
# Quoted history in HTML: Gmail and Yahoo wrap it, Apple Mail and Thunderbird use blockquote.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "zmail_extra")
# Outlook (desktop and web) does not wrap the history: everything after these ids is quoted.
_QUOTE_START_IDS = frozenset({
    "divrplyfwdmsg", "appendonsend", "stopspelling", "mail-editor-reference-message-container",
})

_ATTRIBUTION_WORDS = (
    r"wrote|schrieb|a\s+écrit|escribió|escribio|schreef|ha\s+scritto|escreveu|skrev|napisał|kirjoitti"
)
_ON_WROTE = re.compile(
    r"^[ \t>-]*(?:On|Am|Le|El|Op|Il|Em|Den|På|W dniu|Dne)\s[^\n]{0,250}?"
    r"(?:\n[^\n]{0,250}?){0,2}?"
    rf"(?:{_ATTRIBUTION_WORDS})(?:\s*:|\s+-{{2,}})[ \t]*$",
    re.M | re.I,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Originalnachricht|"
    r"Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|"
    r"Mensagem original|Forwarded message|Weitergeleitete Nachricht|Message transféré|"
    r"Mensaje reenviado)\s*-{2,}|^[ \t]*Begin forwarded message:",
    re.M | re.I,
)
# Outlook's quote header: "From: ..." then, within three lines, "Sent:" (or its translation).
_OUTLOOK_HEADER = re.compile(
    r"^[ \t]*\*?(?:From|Von|De|Da|Van|Från|Fra|Od)\s?\*?:\*?[ \t][^\n]{1,300}\n"
    r"(?:[^\n]{0,300}\n){0,2}?"
    r"[ \t]*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado(?: el)?|Fecha|Inviato|Data|"
    r"Verzonden|Skickat|Sendt|Wysłano)\s?\*?:",
    re.M | re.I,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.M)
_TRAILING_RULE = re.compile(r"(?:\n[ \t]*[_\-=*]{5,}[ \t]*)+\s*$")
_SIGNATURE = re.compile(r"^-- ?$", re.M)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class HtmlText:
    full: str      # every visible word
    fresh: str     # without the quoted history
    had_quote: bool


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.full: list[str] = []
        self.fresh: list[str] = []
        self.hidden_depth = 0
        self.quote_tag: str | None = None
        self.quote_depth = 0
        self.rest_is_quote = False
        self.had_quote = False

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self.hidden_depth += 1
            return
        self._break(tag)
        if self.quote_tag is not None:
            self.quote_depth += tag == self.quote_tag
            return
        attributes = {k.lower(): (v or "") for k, v in attrs}
        classes = attributes.get("class", "").lower()
        if attributes.get("id", "").lower() in _QUOTE_START_IDS:
            self.rest_is_quote = self.had_quote = True
        elif tag == "blockquote" or any(c in classes for c in _QUOTE_CLASSES):
            if tag not in _VOID:
                self.quote_tag, self.quote_depth, self.had_quote = tag, 1, True

    def handle_startendtag(self, tag, attrs):
        self._break(tag)

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
            return
        if tag == self.quote_tag:
            self.quote_depth -= 1
            if self.quote_depth <= 0:
                self.quote_tag = None
        if tag != "br":
            self._break(tag)

    def handle_data(self, data):
        if not self.hidden_depth:
            self._emit(_SPACES.sub(" ", data.replace("\r", " ").replace("\n", " ")))

    def _break(self, tag: str) -> None:
        """<br> always breaks the line; other blocks only end a line that has text."""
        if tag == "br":
            self._emit("\n")
        elif tag in _BLOCK:
            self._emit("\n", only_after_text=True)

    def _emit(self, text: str, only_after_text: bool = False) -> None:
        if self.hidden_depth:
            return
        targets = [self.full]
        if self.quote_tag is None and not self.rest_is_quote:
            targets.append(self.fresh)
        for target in targets:
            at_line_start = not target or target[-1].endswith("\n")
            if at_line_start and (only_after_text or (text != "\n" and not text.strip())):
                continue  # no empty lines from markup or from whitespace between tags
            target.append(text)


def html_to_text(html: str) -> HtmlText:
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; keep whatever was read
        pass
    return HtmlText(tidy("".join(collector.full)), tidy("".join(collector.fresh)), collector.had_quote)


def tidy(text: str) -> str:
    """Normalise newlines and spaces, strip each line, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def split_quoted(text: str) -> tuple[str, bool]:
    """(the new text of a reply, whether quoted history was found and cut).

    Cuts at the first attribution line ("On ... wrote:", "Am ... schrieb ...:", "Le ... a
    écrit :"...), "-----Original Message-----" separator or Outlook "From:/Sent:" block, then
    drops remaining ">"-quoted lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = min(
        (m.start() for m in (p.search(text) for p in (_ON_WROTE, _ORIGINAL_MESSAGE, _OUTLOOK_HEADER)) if m),
        default=None,
    )
    had_quote = cut is not None
    if cut is not None:
        text = text[:cut]
    without_quotes = _QUOTED_LINE.sub("", text)
    had_quote = had_quote or without_quotes != text
    return tidy(_TRAILING_RULE.sub("", without_quotes)), had_quote


def strip_signature(text: str) -> str:
    """Text above the conventional "-- " signature separator."""
    match = _SIGNATURE.search(text)
    return text[: match.start()].rstrip() if match else text
