"""Accent- and case-insensitive matching, the same in Python and in SQL (issue #17).

``fold("Gerente de Mantenimiento")`` is ``"gerente de mantenimiento"``; ``fold("Dirección")``
is ``"direccion"``: accents dropped (NFKD without combining marks, so "ñ" reads "n"), case
folded, whitespace runs one space. Fit rules, keyword trackers and searches compare folded
text, so a Spanish term typed without accents (or an English one in capitals) still matches.

In SQL, ``folded(column)`` gives the same result for the letters of Spanish, Portuguese,
French, German and the other Western European languages: SQLite calls ``fold`` itself (a
function registered on each connection, ``crm_fold``), PostgreSQL ``translate`` + ``lower``
(no ``unaccent`` extension needed). Letters outside that table keep their accent in
PostgreSQL: "ő" matches "ő", not "o".
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SQLITE_FUNCTION = "crm_fold"
_ACCENTED = "ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕóòôöõÚÙÛÜúùûüÑñÇçÝýÿ"
_PLAIN = "AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuNnCcYyy"
assert len(_ACCENTED) == len(_PLAIN)


def fold(text: str | None) -> str:
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def sqlite_fold(value):
    """The SQLite function: NULL stays NULL so ``LIKE`` behaves as on the raw column."""
    return None if value is None else fold(str(value))


def like_pattern(query: str) -> str:
    """``%folded query%`` with LIKE's wildcards taken literally (escape character ``\\``)."""
    folded = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{folded}%"


class folded(FunctionElement):  # noqa: N801  (reads as a SQL function)
    """``folded(column)``: the column's text folded like ``fold`` (see the module docstring)."""

    type = String()
    inherit_cache = True


@compiles(folded)
def _folded_default(element, compiler, **kw):
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"lower(translate({column}, '{_ACCENTED}', '{_PLAIN}'))"
