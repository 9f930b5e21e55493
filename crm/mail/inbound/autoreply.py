"""Auto-replies (out-of-office, vacation, "we received your message") and other machine mail.

The header and subject rules, with their sources, are listed in ``classify.py``. Body wording
alone never makes an auto-reply: a person writes "I'm out of office until Monday, but yes,
let's talk" too, and treating that as an auto-reply would keep emailing someone who answered.
Wording only confirms a weak header signal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from crm.mail.inbound.parse import ParsedMail

# Subjects that auto-responders write, in the languages our prospects use. Anywhere in the
# subject: Outlook writes "Automatic reply: <subject>", others append "(Out of office)".
_AUTO_SUBJECT = re.compile(
    r"out of (?:the )?office|auto(?:matic|matische|matisch)?[- ]?(?:reply|response|responder|antwort|antwoord)|"
    r"abwesenheitsnotiz|abwesenheit|respuesta autom[aá]tica|fuera de (?:la )?oficina|"
    r"r[ée]ponse automatique|absence du bureau|risposta automatica|risposta non al computer|"
    r"fuori sede|fuori ufficio|afwezig(?:heid)?|resposta autom[aá]tica|fora do escrit[oó]rio|"
    r"aus(?:ê|e)ncia tempor[aá]ria|mensagem autom[aá]tica|mensaje autom[aá]tico|message automatique|"
    r"automatische (?:antwort|nachricht)|automatisch bericht|messaggio automatico|"
    r"autosvar|automatisk svar|fr[aå]nvaro|poza biurem|odpowied[zź] automatyczna|"
    r"^\s*(?:absence|absent|abwesend|auto|ausente|assente)\s*:|^\s*absence\b",
    re.I,
)
# Words that only count together with a weak machine signal.
_OOO_SUBJECT_WORDS = re.compile(
    r"\b(?:vacation|holiday|on leave|away|urlaub|ferien|cong[ée]s?|vacances|vacaciones|ferie|f[ée]rias|"
    r"vakantie|abwesend|absent|ausente|assente|afwezig)\b",
    re.I,
)
# Absence wording in the seven languages of our users and prospects (English, Spanish,
# Portuguese, French, German, Italian, Dutch): only evidence next to a machine signal.
_OOO_BODY = re.compile(
    # English
    r"out of (?:the )?office|on (?:annual |parental |sick |maternity |paternity )?leave|"
    r"on (?:vacation|holiday)|limited access to (?:my )?e-?mail|away from (?:the |my )?(?:office|desk)|"
    r"this is an automat(?:ic|ed) (?:reply|response|message)|i am (?:currently )?away|"
    # Spanish
    r"fuera de la oficina|de vacaciones|ausente|estar[ée] fuera|no estoy en la oficina|"
    r"respuesta autom[aá]tica|acceso limitado a(?:l)? correo|"
    # Portuguese
    r"fora do escrit[oó]rio|de f[ée]rias|em f[ée]rias|estou ausente|estarei (?:fora|ausente)|"
    r"resposta autom[aá]tica|acesso limitado ao e-?mail|"
    # French
    r"absente?s? du bureau|en cong[ée]s?|en vacances|je suis absente?|je serai absente?|"
    r"r[ée]ponse automatique|acc[èe]s limit[ée] (?:à|a) (?:mes )?e-?mails?|"
    # German
    r"nicht im b[üu]ro|abwesend|im urlaub|au(?:ß|ss)er haus|nicht erreichbar|automatische antwort|"
    # Italian
    r"fuori (?:sede|ufficio)|in ferie|assente|sar[òo] fuori|risposta automatica|"
    # Dutch
    r"afwezig|niet op kantoor|met vakantie|op vakantie|niet aanwezig|automatisch antwoord",
    re.I,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|antw|antwort|sv|vs|r|rif|réf|ref|odp|ynt)\s?(?:\[\d+\])?\s?:", re.I)
# Headers that bulk-mail services add to campaign mail, never to a person's message.
_CAMPAIGN_HEADERS = ("X-Campaign", "X-Campaign-Id", "X-CampaignID", "X-Mailchimp-Campaign", "X-MC-User",
                     "X-SG-EID", "X-SES-Outgoing", "X-Mailgun-Tag", "X-Mailer-LID", "Feedback-ID",
                     "X-Newsletter", "X-MarketingCloud", "X-SFMC-Stack", "X-rpcampaign", "X-HubSpot-Email-Id")
_NO_REPLY_LOCAL = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-_.+].*)?$", re.I)


@dataclass(frozen=True)
class AutoVerdict:
    auto_reply: bool          # an automatic answer to our message: pause, do not stop
    automated: bool           # some other machine mail (a notice): neither a reply nor an OOO
    reasons: tuple[str, ...]


def has_reply_prefix(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject or ""))


def judge_auto_reply(parsed: ParsedMail, subject: str, fresh_text: str) -> AutoVerdict:
    strong = _strong_header_signals(parsed)
    evidence = []
    if _AUTO_SUBJECT.search(subject or ""):
        if has_reply_prefix(subject):
            # "Re: Automatic reply: ..." is a person answering an auto-reply, and a sequence
            # subject that happens to contain the words must not turn replies into OOOs
            evidence.append("auto-reply words after a reply prefix")
        else:
            strong.append(f"auto-reply subject {subject[:60]!r}")
    if strong:
        return AutoVerdict(True, True, tuple(strong))
    notice = _notice_signals(parsed)
    weak = notice + _weak_machine_signals(parsed)
    if _OOO_SUBJECT_WORDS.search(subject or ""):
        evidence.append("absence word in the subject")
    ooo_match = _OOO_BODY.search(fresh_text[:5000])
    if ooo_match:
        evidence.append(f"absence wording {ooo_match.group(0)!r} in the body")
    if weak and evidence:
        return AutoVerdict(True, True, tuple(weak + evidence))
    answers_us = parsed.has_header("In-Reply-To") or parsed.has_header("References") or has_reply_prefix(subject)
    if notice and answers_us:
        return AutoVerdict(True, True, tuple(notice + ["machine-generated answer to a message"]))
    if notice:
        return AutoVerdict(False, True, tuple(notice + ["automated notice, not an answer"]))
    return AutoVerdict(False, False, ())


def automated_sender_reason(parsed: ParsedMail, from_address: str) -> str | None:
    """Why this is bulk or machine mail that is neither a reply nor an auto-reply, or None.

    Newsletters and list mail: ``Precedence: bulk|list|junk``, ``List-Id`` /
    ``List-Unsubscribe`` (RFC 2919/2369; a person's reply never carries them, replies do not
    copy headers), RFC 8058 one-click unsubscribe, a bulk sender's campaign headers
    (Mailchimp, SendGrid, Amazon SES, Google's ``Feedback-ID``), a no-reply sender. A
    message that answers one of ours (``In-Reply-To`` / ``References``) with only list
    headers stays a reply: a prospect answering through a mailing list or group."""
    precedence = parsed.header("Precedence").lower() or parsed.header("X-Precedence").lower()
    listed = parsed.has_header("List-Id") or parsed.has_header("List-Unsubscribe")
    answers = parsed.has_header("In-Reply-To") or parsed.has_header("References")
    if listed and precedence in ("bulk", "list", "junk"):
        return f"list mail (List-* headers, Precedence: {precedence})"
    if parsed.has_header("List-Unsubscribe") and parsed.has_header("List-Unsubscribe-Post"):
        return "bulk mail (RFC 8058 one-click List-Unsubscribe)"
    if _NO_REPLY_LOCAL.match(from_address.split("@", 1)[0]):
        return "sent from a no-reply address"
    if answers:
        return None
    if precedence in ("bulk", "list", "junk"):
        return f"bulk mail (Precedence: {precedence})"
    if listed:
        return "list or newsletter mail (List-Id / List-Unsubscribe) that answers nothing"
    campaign = next((name for name in _CAMPAIGN_HEADERS if parsed.has_header(name)), None)
    if campaign:
        return f"bulk mail (campaign header {campaign})"
    return None


def _strong_header_signals(parsed: ParsedMail) -> list[str]:
    found = []
    auto_submitted = _token(parsed.header("Auto-Submitted"))
    if auto_submitted == "auto-replied":
        found.append("Auto-Submitted: auto-replied (RFC 3834)")
    autoreply = parsed.header("X-Autoreply").lower()
    if parsed.has_header("X-Autoreply") and autoreply not in ("no", "false", "0"):
        found.append("X-Autoreply (Gmail, Yandex)")
    if parsed.has_header("X-Autorespond"):
        found.append("X-Autorespond (cPanel)")
    if parsed.has_header("X-AutoReply-From") or parsed.has_header("X-Mail-Autoreply"):
        found.append("X-AutoReply-From / X-Mail-Autoreply (Domain Technologie Control)")
    for name in ("Precedence", "X-Precedence"):
        if parsed.header(name).lower() == "auto_reply":
            found.append(f"{name}: auto_reply (cPanel, BoxTrapper)")
    if parsed.header("X-Autogenerated").lower() == "reply":
        found.append("X-Autogenerated: Reply (CommuniGate Pro)")
    if "autoresponder" in parsed.header("X-POST-MessageClass").lower():
        found.append("X-POST-MessageClass: Autoresponder (Mailtraq)")
    if any(v.lower() == "autoresponder" for v in parsed.headers("Delivered-To")):
        found.append("Delivered-To: Autoresponder (qmail)")
    if parsed.has_header("X-MS-Exchange-Inbox-Rules-Loop"):
        found.append("X-MS-Exchange-Inbox-Rules-Loop (Exchange server-side rule or OOF)")
    return found


def _notice_signals(parsed: ParsedMail) -> list[str]:
    found = []
    auto_submitted = _token(parsed.header("Auto-Submitted"))
    if auto_submitted and auto_submitted not in ("no", "auto-replied"):
        found.append(f"Auto-Submitted: {auto_submitted} (RFC 3834: machine-generated)")
    if parsed.header("X-FC-MachineGenerated").lower() == "true":
        found.append("X-FC-MachineGenerated (FirstClass)")
    return found


def _weak_machine_signals(parsed: ParsedMail) -> list[str]:
    found = []
    if parsed.has_header("X-Auto-Response-Suppress"):
        found.append("X-Auto-Response-Suppress (Exchange; weak alone)")
    return_path = parsed.header("Return-Path").replace(" ", "")
    if parsed.has_header("Return-Path") and return_path in ("<>", ""):
        found.append("null Return-Path (RFC 3834 §3.3 auto-responder envelope)")
    return found


def _token(value: str) -> str:
    """The keyword of a header such as "auto-replied (zimbra; vacation)"."""
    return re.split(r"[\s;(]", value.strip().lower(), maxsplit=1)[0] if value.strip() else ""
