"""Keyword trackers' matching rule, pure (no database): a phrase matches a transcript line when
its words appear in order, as whole words, accent- and case-insensitive ("precio" finds
"Precio", "PRECIO" and "precío", not "preciosa"; "too expensive" finds "too   expensive" but
not "tooexpensive"), said by the side the tracker asks for."""
from __future__ import annotations

import re
from dataclasses import dataclass

from crm.reviews.transcripts import fold

SAID_BY = ("either", "rep", "prospect")


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Word-boundary pattern of a folded phrase; boundaries are "not a letter or digit" so
    phrases that start or end with punctuation ("c++", "$99") still match at their edges."""
    words = fold(phrase).split()
    body = r"\s+".join(re.escape(word) for word in words)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])")


@dataclass(frozen=True)
class Match:
    phrase: str
    count: int


def matches(phrases: list[str], folded_text: str) -> list[Match]:
    """How often each phrase occurs in a line already folded (``transcripts.fold``)."""
    found = []
    for phrase in phrases:
        count = len(phrase_pattern(phrase).findall(folded_text))
        if count:
            found.append(Match(phrase, count))
    return found


def said_by_matches(said_by: str, speaker: str | None) -> bool:
    return said_by == "either" or speaker == said_by
