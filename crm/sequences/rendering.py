"""Personalised subjects and bodies, rendered in a Jinja2 sandbox.

Templates are written by users, so three walls stand between them and the application:

1. **A whitelist of the template language itself**, checked on the parsed tree when a template
   is saved and again before every render: output, ``if``/``else``, comparisons, ``and``/
   ``or``/``not``, string constants, ``~`` and a few harmless filters. No calls, loops, macros,
   imports, ``set``, subscripts or blocks, and only the known tokens (``contact.first_name``,
   ``company.name``, ``sender.signature``...). ``{{ ''.__class__ }}``, ``{{ config }}``,
   ``{{ self }}``, ``{{ lipsum() }}`` never get past this.
2. **An immutable sandbox** (``ImmutableSandboxedEnvironment``) with no globals at all (no
   ``range``, ``lipsum``, ``cycler``, ``joiner``, ``namespace``, ``dict``) and ``StrictUndefined``.
3. **A context of plain dicts and strings** built here: never an ORM object, so even an
   escape would find nothing to reach.

The HTML part is autoescaped (a contact named ``<script>`` stays text); the text part is not.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from crm.errors import ValidationFailed
from crm.i18n import _

TOKENS: dict[str, frozenset[str] | None] = {
    "contact": frozenset({"first_name", "last_name", "full_name", "email", "title"}),
    "company": frozenset({"name"}),
    "sender": frozenset({"name", "email", "signature"}),
    "meeting_link": None,  # a plain value: no attributes
    "unsubscribe_url": None,
    "video": None,  # the sender's email video (crm/documents): a thumbnail linking to the watch page
}
TOKEN_HELP = ("contact.first_name, contact.last_name, contact.full_name, contact.email, contact.title, "
              "company.name, sender.name, sender.email, sender.signature, meeting_link, unsubscribe_url, video")
FILTERS = frozenset({"default", "d", "upper", "lower", "title", "capitalize", "trim", "e", "escape"})
ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
    nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.Concat, nodes.Filter,
)
SAMPLE_CONTEXT: dict[str, Any] = {
    "contact": {"first_name": "Grace", "last_name": "Hopper", "full_name": "Grace Hopper",
                "email": "grace@example.com", "title": "VP Engineering"},
    "company": {"name": "Example Corp"},
    "sender": {"name": "Rita Rep", "email": "rita@example.com", "signature": "Rita Rep\nSales"},
    "meeting_link": "https://crm.example.com/meet/rita",
    "unsubscribe_url": "https://crm.example.com/u/token",
    "video": "https://crm.example.com/d/sample",
}


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True,
        finalize=lambda value: "" if value is None else value,
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
    env.filters = {name: env.filters[name] for name in FILTERS if name in env.filters}
    env.tests = {name: env.tests[name] for name in ("defined", "none", "string") if name in env.tests}
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)


class TemplateRefused(Exception):
    def __init__(self, message: str, lineno: int | None):
        super().__init__(message)
        self.message, self.lineno = message, lineno

    def __str__(self) -> str:
        return _("line %(num)s: %(message)s", num=self.lineno, message=self.message) if self.lineno else self.message


def _dotted(node: nodes.Node) -> str:
    """``a.b.c`` for a chain of attribute lookups, ``….c`` when it starts elsewhere."""
    parts = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    parts.append(node.name if isinstance(node, nodes.Name) else "…")
    return ".".join(reversed(parts))


def _check_node(node: nodes.Node) -> None:
    line = getattr(node, "lineno", None)
    if not isinstance(node, ALLOWED_NODES):
        raise TemplateRefused(_("%(kind)s is not allowed in a template", kind=type(node).__name__.lower()), line)
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name not in TOKENS:
            raise TemplateRefused(_("unknown token '%(token)s' (use %(help)s)", token=node.name, help=TOKEN_HELP), line)
        if TOKENS[node.name] is not None:
            raise TemplateRefused(_("'%(token)s' needs a field, such as %(example)s", token=node.name,
                                    example=f"{node.name}.{sorted(TOKENS[node.name])[0]}"), line)
    elif isinstance(node, nodes.Getattr):
        root = node.node
        if not isinstance(root, nodes.Name) or root.name not in TOKENS or TOKENS[root.name] is None:
            raise TemplateRefused(_("unknown token '%(token)s' (use %(help)s)", token=_dotted(node),
                                    help=TOKEN_HELP), line)
        if node.attr not in TOKENS[root.name]:
            raise TemplateRefused(_("unknown token '%(token)s' (use %(help)s)", token=f"{root.name}.{node.attr}",
                                    help=TOKEN_HELP), line)
        return  # the root Name is checked here, with its attribute
    elif isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            raise TemplateRefused(_("filter '%(name)s' is not allowed", name=node.name), line)
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise TemplateRefused(_("filter '%(name)s' takes plain arguments only", name=node.name), line)
        if node.node is None:
            raise TemplateRefused(_("filter blocks are not allowed"), line)
    elif isinstance(node, nodes.Const) and not isinstance(node.value, (str, int, float, bool, type(None))):
        raise TemplateRefused(_("only plain constants are allowed"), line)
    for child in node.iter_child_nodes():
        _check_node(child)


def check_source(source: str, env: ImmutableSandboxedEnvironment = TEXT_ENV) -> None:
    """Raise TemplateRefused for syntax errors and anything outside the whitelist."""
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(exc.message or _("syntax error"), exc.lineno) from None
    _check_node(tree)


@lru_cache(maxsize=1024)
def _checked_template(source: str, autoescape: bool) -> Template:
    """Checked and compiled once per source: a sequence renders the same few templates for
    thousands of contacts, and parsing plus compiling was most of each render. The check is
    a pure function of the source, so a cached pass is the same pass."""
    env = HTML_ENV if autoescape else TEXT_ENV
    check_source(source, env)
    return env.from_string(source)


def _render(source: str, context: dict[str, Any], env: ImmutableSandboxedEnvironment) -> str:
    try:
        template = _checked_template(source, env is HTML_ENV)
    except TemplateError as exc:  # compile errors the check did not catch
        raise TemplateRefused(str(exc.message if hasattr(exc, "message") else exc),
                              getattr(exc, "lineno", None)) from None
    try:
        return template.render(context)
    except TemplateError as exc:
        raise TemplateRefused(str(exc.message if hasattr(exc, "message") else exc),
                              getattr(exc, "lineno", None)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # e.g. a filter given a bad argument
        raise TemplateRefused(str(exc), None) from None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text_body: str
    html_body: str | None


def render_email(subject: str, text_body: str, html_body: str | None, context: dict[str, Any]) -> RenderedEmail:
    """Render the three parts; raise ValidationFailed naming the part and line on error."""
    errors: dict[str, str] = {}
    parts: dict[str, str | None] = {"subject": None, "text_body": None, "html_body": None}
    for field, source, env in (("subject", subject, TEXT_ENV), ("text_body", text_body, TEXT_ENV),
                               ("html_body", html_body, HTML_ENV)):
        if source is None:
            continue
        try:
            parts[field] = _render(source, context, env)
        except TemplateRefused as exc:
            errors[field] = str(exc)
    if errors:
        raise ValidationFailed(_("the template cannot be rendered"), errors)
    # A subject is one line: a token holding a newline must not inject headers.
    clean_subject = " ".join((parts["subject"] or "").split())
    return RenderedEmail(clean_subject, parts["text_body"] or "", parts["html_body"])


def validate_email_sources(subject: str, text_body: str, html_body: str | None) -> None:
    """Save-time check: every part parses, uses only known tokens and renders against a sample."""
    render_email(subject, text_body, html_body, SAMPLE_CONTEXT)
