from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class json_object(FunctionElement):  # noqa: N801 - reads like the SQL function it renders
    """A JSON object built by the database from alternating keys and values:
    ``json_object(literal("id", String()), table.c.id, ...)``; ``jsonb_build_object`` on
    PostgreSQL, ``json_object`` on SQLite. For INSERT ... SELECT into a ``JSONType`` column."""

    type = JSONType
    inherit_cache = True
    name = "json_object"


@compiles(json_object, "postgresql")
def _json_object_postgresql(element, compiler, **kw):
    return f"jsonb_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object)
def _json_object_default(element, compiler, **kw):
    return f"json_object({compiler.process(element.clauses, **kw)})"
