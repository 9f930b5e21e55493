"""The return date stated in an out-of-office text, in English, German, French, Spanish,
Italian, Dutch and Portuguese.

1. Find every date mention: ISO ``2026-12-03``; numeric ``03.12.2026``, ``3.12.``,
   ``12/07/2026``, ``3/12``; written ``3 December``, ``3rd of December 2026``, ``December 3``,
   ``3. Dezember``, ``le 3 décembre``, ``3 de diciembre de 2026``; and relative ``Monday``,
   ``tomorrow``, ``next week``.
2. Give each mention a meaning from the words around it: a *return* word just before it
   ("back", "return", "zurück", "de retour", "regreso", "rientro", "terug"...) or right after
   it ("Ab dem 03.12. bin ich *wieder* da") means that day; an *until* word before it
   ("until", "through", "bis", "jusqu'au", "hasta", "fino al", "t/m") or a range dash
   ("20.11. – 02.12.") means the day after, because an email landing on someone's last day
   off triggers the same auto-reply again, while one landing a day after their return costs
   nothing; but "not back until" / "no regresaré hasta" means that day. Relative mentions
   count only after such a word; other dates are ignored.
3. The return date is the latest meaningful date.
4. Missing years: the occurrence nearest to ``today``, past days counting double, so
   "3 January" read on 20 December is next January and a stale "24 November" read on
   25 November stays in the past. ``12/07`` is ambiguous: the weekday written next to it
   decides ("Monday 12/07/2026" is 7 December 2026), else the same nearest rule; dotted
   dates are always day first.
5. A date before ``today`` (a stale notice) or more than ``MAX_DAYS_AHEAD`` away is dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MAX_TEXT_CHARS = 10_000
MAX_DAYS_AHEAD = 400
_WINDOW_BEFORE = 60
_WINDOW_AFTER = 40

_MONTHS = {
    1: "january jan januar jänner jaenner janvier janv enero gennaio gen januari janeiro",
    2: "february feb februar février fevrier févr fevr febrero febbraio februari fevereiro",
    3: "march mar märz maerz mär mars marzo maart março",
    4: "april apr avril avr abril aprile",
    5: "may mai mayo maggio mei maio",
    6: "june jun juni juin junio giugno junho",
    7: "july jul juli juillet juil julio luglio julho",
    8: "august aug août aout agosto augustus",
    9: "september sep sept septembre septiembre setiembre settembre setembro",
    10: "october oct oktober okt octobre octubre ottobre outubro",
    11: "november nov novembre noviembre novembro",
    12: "december dec dezember dez décembre decembre déc dic diciembre dicembre dezembro",
}
_WEEKDAYS = {
    0: "monday mon montag lundi lunes lunedì lunedi maandag segunda-feira segunda",
    1: "tuesday tue tues dienstag mardi martes martedì martedi dinsdag terça-feira terça",
    2: "wednesday wed mittwoch mercredi miércoles miercoles mercoledì mercoledi woensdag quarta-feira quarta",
    3: "thursday thu thurs donnerstag jeudi jueves giovedì giovedi donderdag quinta-feira quinta",
    4: "friday fri freitag vendredi viernes venerdì venerdi vrijdag sexta-feira sexta",
    5: "saturday sat samstag sonnabend samedi sábado sabado sabato zaterdag",
    6: "sunday sun sonntag dimanche domingo domenica zondag",
}
MONTH_BY_NAME = {name: number for number, names in _MONTHS.items() for name in names.split()}
WEEKDAY_BY_NAME = {name: number for number, names in _WEEKDAYS.items() for name in names.split()}


def _alternation(names) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_MONTH = _alternation(MONTH_BY_NAME)
_WEEKDAY = _alternation(WEEKDAY_BY_NAME)
_YEAR = r"(?P<y>(?:19|20)\d{2})"

_PATTERNS = {
    "iso": re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d{2})-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)(?!\d)"),
    "dmy_text": re.compile(
        rf"(?<![\d.,:/])(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|º|°|\.)?\s*(?:de\s+|of\s+)?"
        rf"(?P<mn>{_MONTH})\b\.?(?:,?\s*(?:de\s+|del\s+)?{_YEAR}\b)?",
        re.I,
    ),
    "mdy_text": re.compile(
        rf"\b(?P<mn>{_MONTH})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?!\s*[:.]\d)(?:,?\s*{_YEAR}\b)?",
        re.I,
    ),
    "numeric": re.compile(
        r"(?<![\d./:-])(?P<a>[0-3]?\d)(?P<sep>[./-])(?P<b>[01]?\d)"
        r"(?:(?P=sep)(?P<y>(?:19|20)?\d{2}))?(?![\d/:]|[.-]\d)\.?"
    ),
}
_RELATIVE = re.compile(
    rf"\b(?P<wd>{_WEEKDAY})\b|\b(?P<tomorrow>tomorrow|demain)\b|"
    r"\b(?P<nextweek>next week|nächste[n]? woche|la semaine prochaine|la próxima semana|"
    r"la semana que viene|la settimana prossima|la prossima settimana|volgende week)\b",
    re.I,
)
_DATE_FOLLOWS = re.compile(rf"\W{{0,3}}(?:the|den|le|el|il|de)?\s*(?:\d|(?:{_MONTH})\b)", re.I)
_WEEKDAY_BEFORE = re.compile(rf"\b(?P<wd>{_WEEKDAY})\b\.?,?\s*(?:the|den|le|el|il|de)?\s*$", re.I)
_RETURN_BEFORE = re.compile(
    r"\b(?:back|return(?:ing|s)?|resum\w*|in the office|available|reachable|zurück|zurueck|"
    r"wieder|rückkehr|retour|reviens|reviendrai|rentre|rentrerai|regres\w*|vuelta|volver[ée]|"
    r"vuelvo|reincorpor\w*|rientr\w*|torner[òo]|ritorno|terug|weer|retorno|volto|voltarei)\b",
    re.I,
)
_RETURN_AFTER = re.compile(
    r"\b(?:back|return\w*|zurück|wieder|retour|regres\w*|vuelta|vuelvo|rientr\w*|terug|weer|retorno)\b",
    re.I,
)
_UNTIL = re.compile(
    r"\b(?:until|till|til|through|thru|(?:up )?to and including|bis|hasta|tot en met|tot|"
    r"fino al|fino a|sino al|até)\b|\bt/m\b|\bjusqu'(?:au|à|a)\b",
    re.I,
)
# "I will not return until 3 December" / "no regresaré hasta el 3": that day, not the day after.
_NOT_BACK_UNTIL = re.compile(
    r"(?:\bnot\b|n't\b|\bnicht\b|\bno\b|\bpas\b|\bnon\b)[^\n]{0,30}?"
    r"\b(?:back|return\w*|zurück|retour|regres\w*|volver\w*|vuelv\w*|rientr\w*|terug)\b[^\n]{0,20}?"
    r"(?:\buntil\b|\btill\b|\bbis\b|\bhasta\b|\bfino al\b)\W*(?:\w+\W+)?$",
    re.I,
)
_RANGE_GAP = re.compile(
    r"^\s*(?:-|–|—|to|till|until|bis|au|à|al|a|hasta|fino al|tot|t/m|through|thru|"
    r"jusqu'au)\s*(?:the|le|el|zum|den|dem|de|il)?\s*$",
    re.I,
)
_MAX_RANGE_GAP = 20
_CLAUSE_END = re.compile(r"[!?;\n]|\.(?:\s|$)")


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    day: date | None
    relative: bool = False


@dataclass(frozen=True)
class ReturnDate:
    value: date | None
    reason: str


def find_return_date(text: str, today: date) -> ReturnDate:
    """The first day the sender is back, read from an auto-reply text (see module doc)."""
    text = (text or "")[:MAX_TEXT_CHARS].replace("\u00a0", " ").replace("’", "'")
    mentions = sorted(_absolute_mentions(text, today) + _relative_mentions(text, today),
                      key=lambda m: m.start)
    meant = [found for found in _meanings(text, mentions) if found is not None]
    if not meant:
        return ReturnDate(None, "no return date stated")
    value = max(meant)
    if value < today:
        return ReturnDate(None, f"stated return date {value.isoformat()} is already past")
    if value > today + timedelta(days=MAX_DAYS_AHEAD):
        return ReturnDate(None, f"stated return date {value.isoformat()} is implausibly far")
    return ReturnDate(value, f"return date {value.isoformat()} read from the text")


def _meanings(text: str, mentions: list[_Mention]):
    """Step 2: the date each mention stands for, or None when nothing says it is a return."""
    for index, mention in enumerate(mentions):
        if mention.day is None:
            yield None
            continue
        previous = mentions[index - 1] if index else None
        following = mentions[index + 1] if index + 1 < len(mentions) else None
        window_start = max(previous.end if previous else 0, mention.start - _WINDOW_BEFORE)
        before = text[window_start: mention.start]
        after = text[mention.end: min(following.start if following else len(text), mention.end + _WINDOW_AFTER)]
        if previous is not None and not mention.relative and _is_range_end(text[previous.end: mention.start]):
            yield mention.day + timedelta(days=1)
            continue
        kind = _closest_keyword(before)
        if kind == "until" and _NOT_BACK_UNTIL.search(before):
            kind = "return"
        if kind == "until":
            yield mention.day + timedelta(days=1)
        elif kind == "return":
            yield mention.day
        elif not mention.relative and _RETURN_AFTER.search(_CLAUSE_END.split(after, maxsplit=1)[0]):
            yield mention.day  # "Ab dem 03.12. bin ich wieder im Büro"
        else:
            yield None


def _is_range_end(gap: str) -> bool:
    """The text between two dates says "from one to the other": "20.11. – 02.12."."""
    return len(gap) <= _MAX_RANGE_GAP and bool(_RANGE_GAP.match(gap))


def _closest_keyword(before: str) -> str | None:
    last_return = max((m.end() for m in _RETURN_BEFORE.finditer(before)), default=-1)
    last_until = max((m.end() for m in _UNTIL.finditer(before)), default=-1)
    if last_return < 0 and last_until < 0:
        return None
    return "until" if last_until > last_return else "return"


def _absolute_mentions(text: str, today: date) -> list[_Mention]:
    found = []
    for kind, pattern in _PATTERNS.items():
        for match in pattern.finditer(text):
            found.append((match.start(), -(match.end() - match.start()), kind, match))
    mentions, taken_until = [], -1
    for start, _neg_len, kind, match in sorted(found, key=lambda f: (f[0], f[1])):
        if start < taken_until:
            continue  # overlaps a longer mention found at an earlier position
        taken_until = match.end()
        weekday = _weekday_before(text, start)
        mentions.append(_Mention(start, match.end(), _to_date(kind, match, today, weekday)))
    return mentions


def _relative_mentions(text: str, today: date) -> list[_Mention]:
    mentions = []
    for match in _RELATIVE.finditer(text):
        if match.group("wd"):
            if _starts_a_date(text, match.end()):
                continue  # "Monday 7 December": the weekday belongs to the date
            weekday = WEEKDAY_BY_NAME[match.group("wd").lower()]
            day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        elif match.group("tomorrow"):
            day = today + timedelta(days=1)
        else:
            day = today + timedelta(days=7 - today.weekday())
        mentions.append(_Mention(match.start(), match.end(), day, relative=True))
    return mentions


def _starts_a_date(text: str, position: int) -> bool:
    following = text[position: position + 30]
    return bool(_DATE_FOLLOWS.match(following))


def _weekday_before(text: str, position: int) -> int | None:
    match = _WEEKDAY_BEFORE.search(text[max(0, position - 25): position])
    return WEEKDAY_BY_NAME[match.group("wd").lower()] if match else None


def _to_date(kind: str, match: re.Match, today: date, weekday: int | None) -> date | None:
    groups = match.groupdict()
    year = _year(groups.get("y"))
    if kind == "iso":
        return _safe_date(year, int(groups["m"]), int(groups["d"]))
    if kind in ("dmy_text", "mdy_text"):
        month = MONTH_BY_NAME[groups["mn"].lower()]
        return _resolve([(month, int(groups["d"]))], year, today, weekday)
    a, b, sep = int(groups["a"]), int(groups["b"]), groups["sep"]
    if sep == "-" and year is None:
        return None  # "3-5" is a range of numbers far more often than a date
    if sep == "." or b > 12:
        options = [(b, a)]  # dotted dates are day first everywhere they are used
    elif a > 12:
        options = [(a, b)]  # only month/day can work
    else:
        options = [(b, a), (a, b)]
    return _resolve(options, year, today, weekday)


def _resolve(options: list[tuple[int, int]], year: int | None, today: date, weekday: int | None) -> date | None:
    """Pick among (month, day) readings: the one on the stated weekday, else the nearest."""
    dates = []
    for month, day in options:
        found = _safe_date(year, month, day) if year else _nearest_occurrence(month, day, today)
        if found is not None:
            dates.append(found)
    if weekday is not None and any(d.weekday() == weekday for d in dates):
        dates = [d for d in dates if d.weekday() == weekday]
    return min(dates, key=lambda d: _distance(d, today), default=None)


def _nearest_occurrence(month: int, day: int, today: date) -> date | None:
    candidates = [_safe_date(y, month, day) for y in (today.year - 1, today.year, today.year + 1)]
    return min((c for c in candidates if c), key=lambda c: _distance(c, today), default=None)


def _distance(day: date, today: date) -> int:
    delta = (day - today).days
    return delta if delta >= 0 else -2 * delta  # a return date is rarely in the past


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text.lstrip("'"))
    return value + 2000 if value < 100 else value


def _safe_date(year: int | None, month: int, day: int) -> date | None:
    try:
        return date(year, month, day) if year else None
    except ValueError:
        return None
