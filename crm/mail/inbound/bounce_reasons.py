"""Why one delivery failed, and whether that makes the bounce hard or soft.

A **hard** bounce marks the contact's address undeliverable, so it needs evidence that the
*address* is dead: the mailbox does not exist (user unknown), the domain does not exist or
accepts no mail (host unknown, null MX), or the mailbox has moved. Everything else is
**soft**, even when permanent (5.x.x): a full mailbox, a message too big, a suspended
account, a refusal of *our message* (spam, policy, blocklists, reverse DNS, SPF/DKIM/DMARC,
relaying, rate limits, a recipient's filter), a delay or an expired retry. Those say nothing
about the address, and soft bounces still stop a sequence after three strikes. This is also
how the public corpus we measure against labels its samples (sisimai: hard = userunknown,
hostunknown, hasmoved, notaccept with a 5xx; ``Sisimai::SMTP::Failure::is_hardbounce``).

The reason is read, first match wins, from:

1. the wording of the diagnostic, in this order (the order matters: "550 5.1.1 mailbox full"
   is a full mailbox; "user unknown" beats a generic "rejected" in the same line; ``_WORDING``):
   local delivery program failed, mailbox full, too big, over a sending limit, suspended,
   a recipient's filter, moved, our sender refused, relaying or authentication refused, user
   unknown, filtered, host unknown, domain accepts no mail (null MX), spam/policy/blocklist
   refusal, could not connect or gave up (DNS failures, timeouts, expired retries);
   generic user-unknown wording ("User unknown", "No such user") is hard only when the
   refusal came at ``RCPT`` (or from the final host's ``mail.local``) or an X.1.x code
   backs it: in answer to ``DATA``, or with no sign of the stage, it is what some servers
   answer when a content filter refuses the message (au/KDDI's "550 : User unknown";
   sisimai's "filtered"): soft. Vendors' own phrases (Exchange's "recipient name is not
   recognized", Domino, Yahoo, GroupWise's "Unknown Recipient") are about the address;
2. the enhanced status code (RFC 3463): X.1.1 / X.1.3 / X.1.10 user unknown, X.1.2 and
   X.4.4 host unknown (unable to route), X.1.6 moved, X.2.2 full, X.2.1 disabled, X.3.4 too big, X.7.x policy... with
   class 4 always soft;
3. ``Action: delayed`` / delay wording: soft;
4. the basic reply code without any of the above: 551 (user not local) and 553 (mailbox
   name not allowed) are about the address (RFC 5321 §4.2.2): hard; 550 alone is not (it is
   also every policy refusal's code), nor any other 5xx or 4xx: soft;
5. "permanent error/failure" wording with nothing more specific (qmail's "This is a
   permanent error", Notes' "permanent fatal errors"): hard; temporary wording: soft;
6. nothing to go on: soft, so an address is only marked invalid on evidence.

Wording comes in the languages of the mail systems that write it (English, plus the
Spanish, French, German, Italian, Portuguese and Japanese NDR phrases the corpora show).
Reporting MTAs that state a category are believed (PowerMTA's ``X-PowerMTA-BounceCategory``).

Measured on public corpora (``bench/bounce_classification.py``, fixtures and label mapping in
``tests/fixtures/bounces/README.md``): 95.3% agreement on hard/soft over 537 labelled bounces.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

HARD, SOFT = "hard", "soft"
MAX_WORDING_CHARS = 6000


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(phrases), re.I)


# (reason, hard?, pattern) in the order they are tried (rule 1).
_WORDING: tuple[tuple[str, bool, re.Pattern[str]], ...] = (
    ("local delivery program failed", False, _words(
        r"pipe to \|", r"generated during the delivery attempt", r"mailer error", r"local delivery (?:failed|error)",
        r"unable to (?:execute|run) ", r"command (?:died|failed|output)",
    )),
    ("mailbox full", False, _words(
        r"mailbox (?:is )?full", r"mail ?box (?:size )?(?:limit|quota)", r"over (?:the |his |her |their )?quota",
        r"quota (?:exceeded|full|limit)", r"exceeded (?:its|his|her|their|the)? ?(?:storage|quota|mailbox)",
        r"insufficient (?:system )?storage", r"mailbox has exceeded", r"disk quota", r"storage (?:space|limit)",
        r"not enough (?:space|storage)", r"out of (?:disk )?space", r"mailfolder is full", r"account is full",
        r"full mailbox", r"mailbox (?:size|storage) limit", r"boite (?:aux lettres )?pleine", r"postfach (?:ist )?voll",
        r"buz[oó]n (?:est[aá] )?lleno", r"casella (?:piena|postale piena)", r"caixa (?:de correio )?cheia",
        r"user has exceeded", r"exceeds? (?:the )?(?:maximum )?(?:allowed )?(?:mailbox|storage) ",
    )),
    ("message too big", False, _words(
        r"message (?:is )?too (?:big|large)", r"message size exceeds", r"exceeds? (?:the )?(?:maximum )?"
        r"(?:message )?size", r"size limit", r"message length exceeds", r"mail size", r"too big for",
        r"message (?:file )?too large", r"message exceeded (?:the )?(?:maximum|max)",
    )),
    ("over a sending limit", False, _words(
        r"too many (?:recipients|messages|connections)", r"rate limit", r"exceeded (?:the )?(?:rate|sending)",
        r"receiving mail at a rate", r"unusual rate", r"recipient (?:rate|limit) exceeded", r"throttl",
    )),
    ("account suspended or disabled", False, _words(
        r"(?:is|has been|currently|temporarily) (?:temporarily )?suspended", r"suspended (?:account|mailbox)",
        r"inactive (?:account|mailbox|user)", r"(?:account|mailbox|user) (?:is )?(?:disabled|inactive|"
        r"deactivated|frozen|locked|expired)", r"account (?:has been )?(?:disabled|deactivated|discontinued|"
        r"locked|closed|blocked)", r"that you tried to reach is disabled", r"mailbox currently suspended",
        r"deactivated mailbox", r"user (?:is )?terminated", r"archived recipient", r"temporarily inactive",
        r"mailbox unavailable or access denied", r"this address no longer accepts mail",
    )),
    # au/KDDI (ezweb.ne.jp) answers "550 : User unknown", no address between the colons, when
    # the recipient's own filter (accept only chosen senders) refuses the message.
    ("refused by the recipient's filter", False, _words(r"\b550:? : user unknown")),
    ("mailbox moved", True, _words(r" has been replaced by ", r"mailbox has moved", r"address has changed to")),
    ("sender refused", False, _words(
        r"sender (?:address|domain)? ?(?:rejected|refused|denied|unknown|verification|verify|not allowed)",
        r"domain of sender", r"sender address", r"(?:after|in reply to) mail from",
        r"mail from.{0,40}(?:rejected|refused|denied)",
        r"\b5\.1\.[78]\b", r"return address", r"envelope sender",
    )),
    ("relaying denied", False, _words(
        r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)", r"not permitted to relay",
        r"unable to relay", r"relay not permitted", r"we do not relay", r"no relaying", r"relaying disallowed",
        r"not (?:in my|an allowed) (?:list of )?(?:allowed )?rcpthosts", r"cannot relay",
    )),
    ("sender authentication failed", False, _words(
        r"\bspf\b", r"\bdkim\b", r"\bdmarc\b", r"sender policy framework", r"authentication (?:failed|required)",
        r"not authenticated", r"unauthenticated", r"sender (?:address )?(?:verification|verify) failed",
        r"5\.7\.(?:2[3-7]|1 .*spf)",
    )),
    ("user unknown", True, _words(
        r"user ?unknown", r"unknown (?:user|recipient|mailbox|local[- ]part|address)", r"no such (?:user|mailbox|"
        r"recipient|address|person|account)", r"(?:user|recipient|mailbox|address|account|e-?mail address|"
        r"addressee)(?: name)? (?:\S+ )?(?:does ?n[o']t|did not|doesn't) exist", r"does not exist",
        r"(?:user|recipient|mailbox|address)(?: name)? (?:is )?(?:not found|unknown|invalid|not valid|"
        r"unavailable|not recogni[sz]ed|not listed)", r"invalid (?:recipient|address|mailbox|user|e-?mail)",
        r"not a (?:valid|known) (?:user|recipient|mailbox|address)", r"is not a valid mailbox",
        r"recipient (?:address )?rejected: (?:user unknown|unknown user|invalid user|undeliverable address|"
        r"access denied|userunknown|invalid-recipient|mailbox unavailable|no such)", r"(?:recipient )?address "
        r"rejected(?!: ?[a-z])", r"recipient rejected(?!: ?[a-z])", r"destinataire invalide",
        r"recipient not (?:found|exist|ok|accepted|local)",
        r"(?:address|mailbox|user) (?:is )?not (?:present|known|local)", r"no (?:mailbox|account) (?:here )?by "
        r"that name", r"no mail ?box (?:here|found|available)", r"mailbox unavaila?ble", r"mailbox not found",
        r"requested action not taken: mailbox unavailable", r"mailbox name not allowed",
        r"resolver\.adr\.recipient ?not ?found",
        r"recipientnotfound", r"recipient name is not recogni[sz]ed", r"invalid final delivery userid",
        r"not listed in public name", r"ディレクトリのリストにありません", r"ディレクトリには見つかりません",
        r"not listed in (?:the )?(?:domino|"
        r"public) directory", r"address (?:not found|invalid|unknown)", r"couldn't be found",
        r"could not be found", r"(?:can't|cannot|unable to) (?:be )?(?:find|found|locate) (?:the )?(?:user|"
        r"recipient|mailbox|address)", r"no account by that name", r"doesn't have an? \S+ account",
        r"there is no one at this address", r"is not an active address", r"bad (?:recipient|address|destination"
        r" mailbox)", r"badrcptto", r"validrcptto", r"envelope recipient (?:has been denied|is in my badrcptto)",
        r"not our customer", r"no longer (?:valid|available|exists|active|in use|with)", r"user not exist",
        r"wrong or no longer",
        r"invalid or unknown virtual user", r"no existe", r"utilisateur inconnu",
        r"destinataire inconnu", r"adresse (?:inconnue|invalide|introuvable)", r"unbekannt(?:er)? (?:empf[aä]nger|"
        r"benutzer)", r"empf[aä]nger (?:unbekannt|existiert nicht)", r"nessun utente", r"utente (?:inesistente|"
        r"sconosciuto)", r"usu[aá]rio (?:inexistente|desconhecido)", r"usuario (?:inexistente|desconocido)",
        r"unknown or illegal alias", r"not a valid user", r"user not active", r"missing home directory",
        r"account (?:\S+ )?does not exist", r"mailbox (?:\S+ )?(?:does not exist|unavailable)",
        r"the email account that you tried to reach does not exist", r"is not a known user",
    )),
    ("refused by the recipient's filter", False, _words(
        r"only accepting mail from specific", r"refused due to recipient preferences", r"user rules",
        r"user refuses to receive", r"user reject", r"blocked by the recipient", r"not accepting any mail",
        r"resolver\.rst\.notauthorized", r"this account is protected by", r"previously (?:been )?bounced",
        r"bounced address", r"new mail is not currently being accepted",
    )),
    ("host unknown", True, _words(
        r"host (?:or domain name )?not found", r"host unknown", r"unknown (?:host|domain)", r"no such domain",
        r"domain (?:does not exist|not found|is not reachable|must exist|name not found|unknown)",
        r"unrout(?:e)?able (?:address|mail domain)", r"name or service not known", r"mail domain mentioned",
        r"no (?:mx|dns) (?:or a )?record", r"dns (?:error|lookup failed)|nxdomain", r"domain name not found",
        r"account or domain may not exist", r"couldn't find any host", r"couldn't find a mail exchanger",
        r"illegal host", r"bad destination system", r"not accepting network messages",
        r"no (?:valid )?mail (?:exchanger|"
        r"server)s? (?:for|found)", r"host not found",
    )),
    ("domain accepts no mail", True, _words(
        r"does not accept mail", r"nullmx", r"null mx", r"mail receiving disabled", r"no route for current request",
    )),
    ("refused as spam or by policy", False, _words(
        r"\bspam\b", r"junk mail", r"blocked", r"block ?list", r"black ?list", r"\bdnsbl\b", r"\brbl\b",
        r"spamhaus", r"spamcop", r"barracuda", r"reputation", r"reverse (?:dns|lookup)", r"\bptr\b",
        r"rdns", r"not (?:have|has) a (?:valid )?(?:reverse|ptr)", r"policy", r"policies", r"content rejected",
        r"virus", r"malware", r"infected", r"security", r"not allowed", r"access denied", r"denied",
        r"rejected", r"refused", r"prohibited", r"banned", r"not compliant", r"rfc ?5322", r"rfc ?2822",
        r"message (?:was )?(?:rejected|refused)", r"unsolicited", r"bulk mail", r"suspicious",
        r"administrative prohibition",
    )),
    ("could not connect or gave up", False, _words(
        r"did not accept our requests to connect", r"socket error", r"all hosts have been failing",
        r"(?:host|server|network|domain) (?:is )?(?:not reachable|unreachable)", r"connection (?:refused|"
        r"timed out|reset|lost)", r"timed? ?out", r"retry time(?:out)? (?:not reached|exceeded)",
        r"too long in (?:the )?queue", r"giving up", r"expired", r"could not (?:be )?(?:send|sent|deliver)"
        r" (?:message )?for (?:past|the last)", r"delay(?:ed)?", r"deferred", r"temporar(?:y|ily)",
        r"try again", r"greylist", r"failed \d+ attempts", r"malformed or unexpected name server reply",
        r"name server (?:failure|timeout|timed out)",
    )),
)
# The refusal came in answer to DATA: the address was accepted at RCPT, the content was not.
# Postfix "(in reply to end of DATA command)", Exim "after end of data", right after the reply.
_DATA_STAGE = re.compile(r"(?:in reply to|after) (?:the )?(?:end of )?data\b|smtp command:? data\b", re.I)
_DATA_REPLY = re.compile(r"^>>> data\s*\n<<< ([^\n]*)", re.I | re.M)  # a sendmail transcript
# "User unknown" alone is also what some servers answer when a filter refuses the message
# (sisimai's "filtered"): hard only if the refusal came at RCPT or a code says the address
# is bad. Vendors' own phrases (Exchange, Domino, Yahoo...) are about the address already.
_GENERIC_UNKNOWN = re.compile(r"user ?unknown|unknown (?:user|address)|no such user|user not found|"
                              r"invalid (?:address|recipient)|unknown address|(?:recipient )?address rejected|"
                              r"recipient rejected",
                              re.I)
# At RCPT, or by the final host's local delivery agent (sendmail's "mail.local: unknown user"):
# the address itself was judged, not the content.
_RCPT_STAGE = re.compile(r"rcpt[ _]to|>>> rcpt|\brcpt\b|does not like recipient|mail\.local:", re.I)
_ADDRESS_STATUS = re.compile(r"(?<![\d.])[45]\.1\.(?:0|1|2|3|6|10)(?![\d.])")
_TRY_AGAIN = re.compile(r"(?:found|failure|error),? try again|try again later|temporar", re.I)
_DELAY_WORDS = _words(
    r"delay(?:ed)?", r"will (?:be )?retr(?:y|ied)", r"still (?:trying|being retried)", r"not yet been delivered",
    r"could not (?:be )?(?:send|sent|deliver) (?:message )?for (?:past|the last)", r"retry time",
    r"try again later", r"temporar(?:y|ily)", r"greylist", r"expired", r"timed? ?out", r"too long in (?:the )?queue",
    r"giving up", r"retry timeout exceeded", r"deferred",
)
_PERMANENT_WORDS = _words(
    r"permanent (?:error|failure|fatal)", r"permanent(?:ly)? (?:failed|rejected)", r"fatal errors?",
    r"delivery (?:has )?failed", r"failed permanently", r"could not be delivered",
)
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_SMTP_CODE = re.compile(r"(?<![\d.#-])([45][0-5]\d)(?=[ -]|$)", re.M)
_STATUS_REASONS = {  # subject.detail -> (reason, hard?)   (RFC 3463 §3)
    "1.1": ("user unknown", True), "1.3": ("user unknown", True), "1.10": ("user unknown", True),
    "1.2": ("host unknown", True), "1.6": ("mailbox moved", True),
    "2.1": ("account suspended or disabled", False), "2.2": ("mailbox full", False),
    "2.3": ("message too big", False), "3.4": ("message too big", False),
    "4.7": ("delivery time expired", False), "4.4": ("host unknown", True),
}
_ADDRESS_REPLY_CODES = frozenset({"551", "553"})


@dataclass(frozen=True)
class Failure:
    hard: bool
    reason: str
    why: str

    @property
    def kind(self) -> str:
        return HARD if self.hard else SOFT


def judge_failure(status: str | None, text: str, *, delayed: bool = False, fallback_text: str = "",
                  fallback_permanent: bool = True) -> Failure:
    """Hard or soft for one failed recipient (rules in the module docstring).

    :param status: the enhanced status code when one was given ("5.1.1"), else None
    :param text: the diagnostic (a DSN's Diagnostic-Code, or a text bounce's explanation)
    :param delayed: the report says ``Action: delayed``
    :param fallback_text: more of the bounce's text, read for wording when ``text`` has none
    :param fallback_permanent: whether "permanent error" in ``fallback_text`` counts (rule 5): yes
        for a text bounce's preamble (qmail's), no for a DSN's human part, whose recipient
        blocks say more
    """
    # A bounce's explanation is a few lines; the cap keeps ~20 patterns cheap on junk.
    text, fallback_text = (text or "")[:MAX_WORDING_CHARS], (fallback_text or "")[:MAX_WORDING_CHARS]
    status = status or status_in(text)
    if status and status[0] == "4":
        return Failure(False, "temporary failure", f"status {status}: class 4 is temporary")
    if delayed:
        return Failure(False, "delayed", "Action: delayed")
    stage_text = f"{text}\n{fallback_text}"
    for source in (text, fallback_text):
        found = _by_wording(source, stage_text, address_status=bool(status and status[1:4] == ".1."))
        if found is not None:
            return found
    if status:
        by_status = _by_status(status)
        if by_status is not None:
            return by_status
    if _DELAY_WORDS.search(text) or (not status and _DELAY_WORDS.search(fallback_text)):
        return Failure(False, "delayed", "delay or temporary wording")
    code = _SMTP_CODE.search(text) or _SMTP_CODE.search(fallback_text)
    if status and status[0] == "5" and not code:
        return Failure(False, "permanent refusal", f"status {status}: permanent, but not about the address")
    if code:
        hard = code.group(1) in _ADDRESS_REPLY_CODES
        meaning = "about the mailbox" if hard else "not about the address"
        return Failure(hard, "smtp reply", f"SMTP reply {code.group(1)}: {meaning}")
    if _PERMANENT_WORDS.search(text) or (fallback_permanent and _PERMANENT_WORDS.search(fallback_text)):
        return Failure(True, "permanent failure", "permanent failure wording")
    return Failure(False, "unknown", "no code or wording to go on")


def status_in(text: str) -> str | None:
    match = _ENHANCED_STATUS.search(text or "")
    return ".".join(match.groups()) if match else None


def failure_wording(text: str) -> str | None:
    """The failure reason the text words, or None (lets a mail system's notice with no
    standard bounce phrase, "Error: Invalid user address", count as a bounce)."""
    found = _by_wording(text)
    return found.reason if found else None


def _by_wording(text: str, stage_text: str = "", *, address_status: bool = False) -> Failure | None:
    """The first reason whose wording appears. User-unknown wording in answer to DATA is a
    content filter's refusal, unless the status code itself says the address is bad (X.1.x:
    a pipelining server answers RCPT after DATA)."""
    if not text:
        return None
    text = " ".join(text[:MAX_WORDING_CHARS].split())
    for reason, hard, pattern in _WORDING:
        match = pattern.search(text)
        if match is None:
            continue
        if reason == "host unknown" and _TRY_AGAIN.search(text):
            return Failure(False, "dns lookup failed", f"{match.group(0)!r} with 'try again': a temporary DNS failure")
        generic = reason == "user unknown" and bool(_GENERIC_UNKNOWN.fullmatch(match.group(0)))
        if generic and not address_status and _answers_data(text, match, stage_text):
            return Failure(False, "refused by the recipient's filter",
                           f"{match.group(0)!r} in answer to DATA: the address was accepted, the message refused")
        if generic and not address_status and not _ADDRESS_STATUS.search(stage_text) \
                and not _RCPT_STAGE.search(stage_text):
            return Failure(False, "refused by the recipient's filter",
                           f"{match.group(0)!r} with no sign it answered RCPT")
        return Failure(hard, reason, f"{reason}: {match.group(0)!r}")
    return None


def _answers_data(text: str, match: re.Match[str], stage_text: str) -> bool:
    if _DATA_STAGE.search(text[match.end(): match.end() + 300]):
        return True
    wording = match.group(0).lower()
    return any(wording in reply.lower() for reply in _DATA_REPLY.findall(stage_text))


def _by_status(status: str) -> Failure | None:
    _cls, subject, detail = status.split(".")
    if subject == "7":
        return Failure(False, "refused by policy", f"status {status}: policy or security refusal")
    found = _STATUS_REASONS.get(f"{subject}.{detail}")
    if found is None:
        return None
    reason, hard = found
    return Failure(hard, reason, f"status {status}: {reason}")
