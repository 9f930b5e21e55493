"""The template sandbox: escapes and unknown tokens are refused when saved, with the line."""
from __future__ import annotations

import pytest

from crm.errors import ValidationFailed
from crm.sequences.rendering import HTML_ENV, SAMPLE_CONTEXT, TEXT_ENV, render_email, validate_email_sources

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}",
    "{{ config.SECRET_KEY }}",
    "{{ self }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum() }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner }}", "{{ namespace() }}", "{{ range(10) }}", "{{ request }}", "{{ g }}",
    "{{ contact.__class__ }}", "{{ contact.items() }}", "{{ contact['first_name'] }}",
    "{% for x in contact %}{{ x }}{% endfor %}", "{% set x = 1 %}{{ x }}",
    "{% include 'base.html' %}", "{% import 'x' as y %}", "{% extends 'base.html' %}",
    "{{ contact.first_name|attr('__class__') }}", "{{ contact.first_name|format('%s') }}",
    "{% macro m() %}x{% endmacro %}", "{{ contact.first_name.upper() }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused_at_save(source):
    with pytest.raises(ValidationFailed) as refused:
        validate_email_sources("Hi", source, None)
    assert "text_body" in refused.value.fields


def test_the_environments_have_no_globals_at_all():
    assert TEXT_ENV.globals == {} and HTML_ENV.globals == {}
    assert set(TEXT_ENV.filters) <= {"default", "d", "upper", "lower", "title", "capitalize", "trim", "e", "escape"}


def test_unknown_tokens_are_refused_with_the_line_number():
    with pytest.raises(ValidationFailed) as refused:
        validate_email_sources("Hello", "Hi {{ contact.first_name }},\n\nHow is {{ contact.favourite_color }}?", None)
    message = refused.value.fields["text_body"]
    assert message.startswith("line 3") and "contact.favourite_color" in message
    with pytest.raises(ValidationFailed) as refused:
        validate_email_sources("For {{ compnay.name }}", "Hi", None)
    assert "compnay" in refused.value.fields["subject"]
    with pytest.raises(ValidationFailed) as refused:
        validate_email_sources("Hi", "Hi", "<p>{{ sender }}</p>")  # needs a field
    assert "html_body" in refused.value.fields


def test_syntax_errors_are_refused_with_the_line_number():
    with pytest.raises(ValidationFailed) as refused:
        validate_email_sources("Hi", "line one\nline two {{ contact.first_name ", None)
    assert refused.value.fields["text_body"].startswith("line 2")
    with pytest.raises(ValidationFailed):
        validate_email_sources("Hi", "{% if contact.title %}no end", None)


def test_rendering_text_plain_and_html_escaped():
    context = {**SAMPLE_CONTEXT, "contact": {**SAMPLE_CONTEXT["contact"], "first_name": "<b>Bob</b> & co"}}
    rendered = render_email(
        "Pumps for {{ company.name }}",
        "Hi {{ contact.first_name }},\n{% if contact.title %}As {{ contact.title|lower }}{% else %}Hello{% endif %}\n"
        "{{ sender.signature }}",
        "<p>Hi {{ contact.first_name }}</p><a href=\"{{ meeting_link }}\">book</a>",
        context,
    )
    assert rendered.subject == "Pumps for Example Corp"
    assert rendered.text_body.startswith("Hi <b>Bob</b> & co,\nAs vp engineering\nRita Rep")
    assert "<p>Hi &lt;b&gt;Bob&lt;/b&gt; &amp; co</p>" in rendered.html_body
    assert 'href="https://crm.example.com/meet/rita"' in rendered.html_body


def test_a_subject_is_one_line_whatever_the_data():
    context = {**SAMPLE_CONTEXT, "company": {"name": "Evil\r\nBcc: victim@example.com"}}
    assert render_email("About {{ company.name }}", "x", None, context).subject == \
        "About Evil Bcc: victim@example.com"


def test_default_filter_and_empty_values():
    context = {**SAMPLE_CONTEXT, "contact": {**SAMPLE_CONTEXT["contact"], "first_name": ""}}
    rendered = render_email("x", "Hi {{ contact.first_name|default('there', true) }}", None, context)
    assert rendered.text_body == "Hi there"


def test_compiled_templates_are_reused_and_a_refused_source_is_refused_every_time():
    from crm.sequences.rendering import _checked_template

    _checked_template.cache_clear()
    for name in ("Ana", "Bo", "Cy"):
        context = {**SAMPLE_CONTEXT, "contact": {**SAMPLE_CONTEXT["contact"], "first_name": name}}
        assert render_email("Hi {{ contact.first_name }}", "x", None, context).subject == f"Hi {name}"
    assert _checked_template.cache_info().misses == 2 and _checked_template.cache_info().hits == 4
    for _ in range(2):  # a failed check is never cached as a pass
        with pytest.raises(ValidationFailed):
            render_email("{{ ''.__class__ }}", "x", None, SAMPLE_CONTEXT)
