"""The return date stated in an out-of-office text, in English, German, French, Spanish,
Italian, Dutch and Portuguese, read relative to the day the message was written.

0. **The reference day** (``message_day``) is the local date of the message's own ``Date:``
   header, in the header's own UTC offset (an auto-reply written at 00:16 -0800 on 25
   November is from 25 November, although it is already 08:16 UTC). Neither the wall clock
   nor the processing time: a message read from an IMAP backlog months later means what it
   meant when it was written. The caller's ``now`` (its UTC date) is used instead when the
   header is missing, unparseable, dated more than ``MAX_DATE_SKEW`` after ``now`` (a sender
   clock running ahead or a forged header: an auto-reply cannot come from the future), or
   dated before ``EARLIEST_PLAUSIBLE`` (the 1970/1980 zero dates broken clocks write).
   ``today`` below is this reference day.
1. Find every date mention: ISO ``2026-12-03``; numeric ``03.12.2026``, ``3.12.``,
   ``12/07/2026``, ``25/12``, ``3/12``; written ``3 December``, ``3rd of December 2026``,
   ``December 3``, ``3. Dezember``, ``le 3 décembre``, ``3 de diciembre de 2026``; and
   relative ``Monday`` (the next Monday after ``today``, never ``today`` itself),
   ``tomorrow`` (``today`` + 1), ``next week`` (the Monday after ``today``'s week).
2. Give each mention a meaning from the words around it: a *return* word just before it
   ("back", "return", "zurück", "de retour", "regreso", "rientro", "terug"...) or right after
   it ("Ab dem 03.12. bin ich *wieder* da") means that day; an *until* word before it
   ("until", "through", "bis", "jusqu'au", "hasta", "fino al", "t/m") or a range dash
   ("20.11. – 02.12.") means the day after, because an email landing on someone's last day
   off triggers the same auto-reply again, while one landing a day after their return costs
   nothing; but "not back until" / "no regresaré hasta" means that day. Relative mentions
   count only after such a word; other dates are ignored.
3. The return date is the latest meaningful date.
4. Missing years (``_yearless``): the next occurrence of that day and month on or after
   ``today`` ("3 January" in a message of 20 December is next January; "3 December" in one
   of 25 November is this December), with one guard for stale notices: when the same day
   and month fell at most ``STALE_DAYS`` (31) days *before* ``today``, the text means that
   past day, not next year's ("back on 24 November" in a message of 25 November, or "28
   December" in one of 5 January). Why: people forget to switch their auto-reply off, so a
   notice going out days or weeks after its return date is common, whereas a leave announced
   to the day eleven months ahead is not; reading the stale date as next year would pause a
   contact who is already back for almost a year. The past day is then dropped by rule 5.
   An occurrence further than a year (365 days) ahead is no date: only a 29 February can be
   (written in a year whose next leap day is more than a year away), and it is treated as a
   typo, not as a leave ending in four years. ``12/07`` is ambiguous: the weekday written
   next to it decides ("Monday 12/07/2026" is 7 December 2026), else the reading nearest to
   ``today``, past days counting double; a number above 12 can only be the day (``25/12``,
   ``12/25``); dotted dates are always day first.
5. A date before ``today`` (a stale notice) or more than ``MAX_DAYS_AHEAD`` days after it is
   dropped. A date equal to ``today`` is kept: the sender is back that very day, and the
   caller decides what a return moment that has already arrived means (the sequences
   resume at once; see ``pause_enrollments_for``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime

MAX_TEXT_CHARS = 10_000
MAX_DAYS_AHEAD = 400
STALE_DAYS = 31
MAX_DATE_SKEW = timedelta(days=1)
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=timezone.utc)
_YEAR_DAYS = 365
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
        r"(?<![\d./:-])(?P<a>[0-3]?\d)(?P<sep>[./-])(?P<b>[0-3]?\d)"
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


@dataclass(frozen=True)
class MessageDay:
    value: date
    reason: str


def message_day(date_header: str | None, now: datetime | date) -> MessageDay:
    """Rule 0: the day a message's dates are read from, its ``Date:`` header's local date,
    else ``now``'s UTC date (a ``date`` is taken as that day; a naive datetime as UTC)."""
    if isinstance(now, datetime):
        now_moment = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
        fallback = now_moment.astimezone(timezone.utc).date()
    else:
        now_moment, fallback = datetime.combine(now, time(0), timezone.utc), now
    value = " ".join((date_header or "").split())
    if not value:
        return MessageDay(fallback, f"no Date header: dates read relative to now ({fallback.isoformat()})")
    try:
        written = parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001 - any header the stdlib cannot read is "unreadable"
        written = None
    if written is None:
        return MessageDay(fallback, f"unreadable Date header: dates read relative to now ({fallback.isoformat()})")
    # "-0000" (or an unknown zone name) means "local time, offset unknown": the date as written
    moment = written if written.tzinfo is not None else written.replace(tzinfo=timezone.utc)
    if moment > now_moment + MAX_DATE_SKEW or moment < EARLIEST_PLAUSIBLE:
        return MessageDay(fallback, f"implausible Date header ({written.isoformat()}): "
                                    f"dates read relative to now ({fallback.isoformat()})")
    return MessageDay(written.date(), f"dates read relative to the message's Date ({written.date().isoformat()})")


def find_return_date(text: str, today: date) -> ReturnDate:
    """The first day the sender is back, read from an auto-reply text written on ``today``
    (the message's own day, see ``message_day``; rules in the module doc)."""
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
    if sep == "." or a > 12:
        options = [(b, a)]  # day first: dotted dates always are, and "25/12" can only be
    elif b > 12:
        options = [(a, b)]  # "12/25": only month/day can work
    else:
        options = [(b, a), (a, b)]
    return _resolve(options, year, today, weekday)


def _resolve(options: list[tuple[int, int]], year: int | None, today: date, weekday: int | None) -> date | None:
    """Pick among (month, day) readings: the one on the stated weekday, else the nearest."""
    dates = []
    for month, day in options:
        found = _safe_date(year, month, day) if year else _yearless(month, day, today)
        if found is not None:
            dates.append(found)
    if weekday is not None and any(d.weekday() == weekday for d in dates):
        dates = [d for d in dates if d.weekday() == weekday]
    return min(dates, key=lambda d: _distance(d, today), default=None)


def _yearless(month: int, day: int, today: date) -> date | None:
    """Rule 4: a day and month without a year. The past occurrence when it is at most
    ``STALE_DAYS`` before ``today`` (a stale notice), else the next one on or after ``today``
    if it comes within a year, else None (a 29 February with no leap day in the coming year)."""
    candidates = [d for d in (_safe_date(y, month, day) for y in range(today.year - 1, today.year + 2)) if d]
    recent = max((d for d in candidates if d < today), default=None)
    if recent is not None and (today - recent).days <= STALE_DAYS:
        return recent
    upcoming = min((d for d in candidates if d >= today), default=None)
    if upcoming is not None and (upcoming - today).days <= _YEAR_DAYS:
        return upcoming
    return None


def _distance(day: date, today: date) -> int:
    """Sort key between readings of one ambiguous date: the nearest, past days counting
    double (a stale 10 November beats a 11 October eleven months ahead)."""
    delta = (day - today).days
    return delta if delta >= 0 else -2 * delta


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
