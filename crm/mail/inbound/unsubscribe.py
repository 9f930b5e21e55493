"""Unsubscribe requests sent by mail: to our List-Unsubscribe mailto address, with an
"unsubscribe" subject, or a short human answer asking to be left alone.

Only the new text of a reply is read (our own quoted email carries an unsubscribe link),
only when it is short (a long answer that mentions "remove" is a conversation), and a
negation just before the phrase ("please don't remove me") cancels it.
"""
from __future__ import annotations

import re

MAX_SHORT_BODY_CHARS = 600

_SUBJECT = re.compile(
    r"^\s*(?:unsubscribe(?: me)?|remove(?: me)?|opt[- ]?out|stop|abmelden|austragen|abbestellen|"
    r"d[ée]sinscri(?:re|ption)|se d[ée]sinscrire|d[ée]sabonner|se d[ée]sabonner|d[ée]sabonnement|"
    r"darse de baja|dar de baja|baja|cancelar suscripci[oó]n|uitschrijven|afmelden|"
    r"disiscrivi(?:mi)?|cancellami|descadastrar)\s*[.!]*\s*$",
    re.I,
)
_MAILBOX = re.compile(r"^(?:unsubscribe|unsub|opt-?out|optout)(?:[+\-_.=].*)?$", re.I)
_PHRASES = re.compile(
    r"\bunsubscribe\b|\bremove (?:me|my (?:e-?mail|address))\b|\btake me off\b|\bopt(?: me)? out\b|"
    r"\bstop (?:e-?mailing|sending|contacting|writing(?: to)?|spamming)\b|"
    r"\b(?:do not|don'?t) (?:contact|e-?mail|email|write to|message) me\b|\bno more e-?mails\b|"
    r"\babmelden\b|\baustragen\b|\b(?:aus|von) (?:dem|ihrem|eurem|ihren) (?:verteiler|e-?mail-?verteiler)\b|"
    r"\bkeine (?:weiteren )?(?:e-?mails|mails|nachrichten)\b|\bnicht mehr (?:kontaktieren|anschreiben|schreiben)\b|"
    r"d[ée]sinscri\w*|d[ée]sabonn\w*|\bne (?:plus|me plus) (?:me )?(?:contacter|écrire|envoyer)\b|"
    r"\bretirez[- ]moi\b|\bsupprimez[- ]moi\b|"
    r"\bdar(?:me|se)? de baja\b|\bden de baja\b|\bno me (?:env[ií]e[ns]?|escrib[ae]n?|contacte[ns]?) m[aá]s\b|"
    r"\belim[ií]n(?:eme|enme|ame)\b|\bquit(?:ar|en)me de\b|"
    r"\bcancellami\b|\bdisiscriv\w*|\brimuovetemi\b|\bnon (?:voglio )?più ricevere\b|"
    r"\bafmelden\b|\buitschrijven\b|\bverwijder (?:mij|me)\b",
    re.I,
)
_NEGATION = re.compile(r"\b(?:don'?t|do not|not|never|nicht|nie|ne|no|kein\w*|pas)\b[\s,]*(?:\w+\s+)?$", re.I)


def unsubscribe_by_address_or_subject(recipients: list[str], subject: str) -> str | None:
    for address in recipients:
        if _MAILBOX.match(address.split("@", 1)[0]):
            return f"sent to the unsubscribe mailbox {address}"
    if _SUBJECT.match(subject or ""):
        return f"unsubscribe subject {subject[:40]!r}"
    return None


def unsubscribe_by_wording(fresh_text: str) -> str | None:
    text = fresh_text.strip()
    if not text or len(text) > MAX_SHORT_BODY_CHARS:
        return None
    for match in _PHRASES.finditer(text):
        if not _NEGATION.search(text[max(0, match.start() - 30): match.start()]):
            return f"short answer asking to unsubscribe ({match.group(0)!r})"
    return None
