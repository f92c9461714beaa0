"""What the service answers on WhatsApp: one short reply per command, never a conversation.

`handle` turns a citizen's message into subscription changes and at most one reply text.
Like keywords.py, it reads the message by plain tokenising, in time linear in its length.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from banditore.core.models import Organization
from banditore.subscribers import contacts, privacy, replies, service
from banditore.subscribers.contacts import Address
from banditore.subscribers.keywords import Command, Parsed, normalize, topic_changes
from banditore.subscribers.models import Subscriber, Topic

S = Subscriber.Status
# An answer quotes at most this many unknown words, each cut to this length: a message
# can hold thousands, and the answer must fit in one WhatsApp message.
UNKNOWN_SHOWN = 5
UNKNOWN_WIDTH = 30
# What a citizen writes for each intent, as the posters and the other replies say it.
COMMAND_WORDS = {
    Command.SUBSCRIBE: "ISCRIVIMI",
    Command.UNSUBSCRIBE: "CANCELLAMI",
    Command.TOPICS: "TEMI",
    Command.INFO: "INFO",
    Command.MY_DATA: "I MIEI DATI",
}


@dataclass(frozen=True)
class Outcome:
    subscriber: Subscriber | None
    reply: str | None


class _Choices:
    """A comune's topics or zones by number (1-based), name or keyword, accent- and
    case-insensitively; the keys are computed once per message, not once per word."""

    def __init__(self, items):
        self.items = list(items)
        self.by_key = {}
        for position, item in enumerate(self.items, start=1):
            for key in (
                str(position),
                normalize(item.name),
                normalize(item.slug.replace("-", " ")),
            ):
                self.by_key.setdefault(key, item)

    def find(self, word: str):
        return self.by_key.get(normalize(word))


def _shown(words: list[str]) -> str:
    unique = list(dict.fromkeys(words))
    cut = [w if len(w) <= UNKNOWN_WIDTH else w[:UNKNOWN_WIDTH] + "…" for w in unique]
    return ", ".join(cut[:UNKNOWN_SHOWN]) + (", …" if len(cut) > UNKNOWN_SHOWN else "")


def _receives(subscriber: Subscriber | None) -> bool:
    """Whether ticks mean anything: a number that left or never joined receives nothing."""
    return subscriber is not None and subscriber.status in (S.ACTIVE, S.PENDING)


def _topic_list(org: Organization, subscriber: Subscriber | None) -> str:
    topics = enumerate(org.topics.all(), start=1)
    if not _receives(subscriber):
        return "\n".join(f"{n}. {topic.name}" for n, topic in topics)
    chosen = set(subscriber.topics.values_list("id", flat=True))
    return "\n".join(
        f"{'✅' if topic.id in chosen else '▫️'} {n}. {topic.name}" for n, topic in topics
    )


def info_text(org: Organization, subscriber: Subscriber | None) -> str:
    return replies.text(
        org,
        "info_text",
        description=org.description,
        topics=_topic_list(org, subscriber),
    )


def topics_text(org: Organization, subscriber: Subscriber | None) -> str:
    if _receives(subscriber):
        text = _("Topics (✅ = you receive them):\n%(list)s\n\n") % {
            "list": _topic_list(org, subscriber)
        }
    else:
        text = _("Topics:\n%(list)s\n\n") % {"list": _topic_list(org, subscriber)}
    text += replies.text(org, "topics_help_text")
    if subscriber is not None and subscriber.status == S.PENDING:
        if subscriber.confirmed_at:
            text += "\n" + replies.text(org, "waiting_text")
        else:
            text += "\n" + _("Your sign-up is waiting for confirmation: write ISCRIVIMI.")
    elif subscriber is None or subscriber.status != S.ACTIVE:
        text += "\n" + _("You are not subscribed: write ISCRIVIMI to start.")
    return text


def _ambiguous(org: Organization, parsed: Parsed) -> str:
    """A question back, never a guess: the intents found, as the words to write."""
    found = [COMMAND_WORDS[c] for c in getattr(parsed, "candidates", ()) if c in COMMAND_WORDS]
    words = list(dict.fromkeys(found)) or [
        COMMAND_WORDS[Command.SUBSCRIBE],
        COMMAND_WORDS[Command.UNSUBSCRIBE],
    ]
    choices = (
        (", ".join(words[:-1]) + " " + _("or") + " " + words[-1]) if len(words) > 1 else words[0]
    )
    return replies.text(org, "ambiguous_text", choices=choices)


def _change_topics(org, subscriber, rest: str) -> tuple[list[Topic] | None, list[str]]:
    """New topic set from 'TEMI 1 3', 'TEMI TUTTI' or '+X -Y'; unknown words reported."""
    choices = _Choices(org.topics.all())
    if normalize(rest) in ("tutti", "tutto", "all"):
        return choices.items, []
    changes = topic_changes(rest)
    if changes is not None:
        current = {t.id: t for t in subscriber.topics.all()}
        unknown = []
        for sign, word in changes:
            topic = choices.find(word)
            if topic is None:
                unknown.append(word)
            elif sign == "+":
                current[topic.id] = topic
            else:
                current.pop(topic.id, None)
        return list(current.values()), unknown
    words = rest.replace(",", " ").replace(";", " ").split()
    chosen, unknown = {}, []
    # Numbers are single words; names may be two ("protezione civile"): try pairs first.
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if i + 1 < len(words) and (topic := choices.find(pair)):
            chosen[topic.id] = topic
            i += 2
        elif topic := choices.find(words[i]):
            chosen[topic.id] = topic
            i += 1
        else:
            unknown.append(words[i])
            i += 1
    return list(chosen.values()), unknown


# Words around the choices in "iscrivimi a viabilità e eventi per la zona centro".
FILLERS = frozenset(
    str.split(
        "a al alla alle ai agli allo ad e ed o oppure anche per il lo la le i gli di del della "
        "dei delle degli da dal dalla in nel nella su sul sulla con zona zone frazione quartiere "
        "tema temi argomento argomenti solo soltanto grazie please pls"
    )
)
# The longest topic or zone name matched, in words ("protezione civile" is two).
LONGEST_NAME = 4


@dataclass
class _Extras:
    topics: list = field(default_factory=list)
    zones: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    codes: list = field(default_factory=list)


def _looks_like_code(word: str) -> bool:
    # The web page's codes are letters and digits mixed; a word without a digit is a name.
    return (
        4 <= len(word) <= 12
        and word.isalnum()
        and any(c.isdigit() for c in word)
        and any(c.isalpha() for c in word)
    )


def _read_choices(org, rest: str) -> _Extras:
    """Topics (by number, name or keyword), zones (by name or keyword), codes and unknown
    words in what follows the sign-up intent. Linear: at most LONGEST_NAME lookups a word."""
    topics = _Choices(org.topics.all())
    zones = _Choices(org.zones.all())
    words = normalize(rest).split()
    found = _Extras()
    i = 0
    while i < len(words):
        for size in range(min(LONGEST_NAME, len(words) - i), 0, -1):
            key = " ".join(words[i : i + size])
            topic = topics.find(key)
            zone = None if key.isdigit() else zones.find(key)
            if topic is not None or zone is not None:
                bucket, item = (found.topics, topic) if topic is not None else (found.zones, zone)
                if item not in bucket:
                    bucket.append(item)
                i += size
                break
        else:
            word = words[i]
            if _looks_like_code(word):
                found.codes.append(word.upper())
            elif word not in FILLERS:
                found.unknown.append(word)
            i += 1
    return found


def _names(items) -> str:
    return ", ".join(item.name for item in items)


def _state(org, subscriber: Subscriber) -> str:
    """One sentence on what the subscriber now receives (and where)."""
    topics = list(subscriber.topics.all())
    parts = [replies.text(org, "chosen_text", topics=_names(topics) or "-")]
    if subscriber.zone_id:
        parts.append(replies.text(org, "zone_text", zone=subscriber.zone.name))
    return " ".join(parts)


def _leave_hint(org, *texts: str) -> str:
    """How to leave, unless the comune's own text already says it: said once."""
    if any(replies.mentions_leaving(t) for t in texts):
        return ""
    return replies.text(org, "leave_text")


def _signup_notes(org, extras: _Extras, subscriber: Subscriber | None) -> list[str]:
    """What was ignored in the sign-up and why, with the valid choices."""
    notes = []
    if extras.unknown:
        if org.zones.exists() and not extras.zones:
            template, choices = "unknown_zone_text", {"zones": _names(org.zones.all())}
        else:
            template, choices = "unknown_topic_text", {"topics": _names(org.topics.all())}
        words = _shown([w.capitalize() for w in extras.unknown])
        notes.append(replies.text(org, template, words=words, **choices))
    expected = (subscriber.confirmation_code if subscriber else "") or ""
    for code in dict.fromkeys(extras.codes):
        if code != expected.upper():
            notes.append(replies.text(org, "unknown_code_text", code=code[:UNKNOWN_WIDTH]))
    return notes


def _subscribe(org, who, parsed, subscriber, *, evidence, when) -> Outcome:
    extras = _read_choices(org, parsed.rest)
    notes = _signup_notes(org, extras, subscriber)
    change = service.confirm_number(
        org,
        who,
        evidence=evidence,
        when=when,
        zone=extras.zones[0] if extras.zones else None,
        topics=extras.topics or None,
    )
    subscriber = change.subscriber
    if change.stale:
        return Outcome(subscriber, None)
    if subscriber.status == S.PENDING:
        main = replies.text(org, "pending_text")
    elif change.changed:
        main = replies.text(org, "welcome_text")
    else:
        main = replies.text(org, "already_text")
    state = _state(org, subscriber)
    body = replies.join(main, *notes, state)
    return Outcome(subscriber, replies.join(body, _leave_hint(org, body)))


def handle(
    org: Organization,
    who: str | Address,
    parsed: Parsed | None,
    *,
    evidence: dict,
    when: datetime | None,
) -> Outcome:
    """Apply one message written at `when` (the citizen's timestamp).

    A command older than one the citizen already had applied (a late retry, webhooks out
    of order) changes nothing and gets no answer: the newer command got its own.
    """
    who = contacts.address(who)
    source = who.source
    subscriber = contacts.of(org, who).first()
    command = parsed.command if parsed else None

    if command == Command.SUBSCRIBE:
        return _subscribe(org, who, parsed, subscriber, evidence=evidence, when=when)

    if command == Command.AMBIGUOUS:
        return Outcome(subscriber, _ambiguous(org, parsed))

    if command == Command.UNSUBSCRIBE:
        never = subscriber is None or subscriber.status == S.UNSUBSCRIBED
        change = service.unsubscribe(org, who, source=source, evidence=evidence, when=when)
        if change is not None and change.stale:
            return Outcome(change.subscriber, None)
        found = change.subscriber if change is not None else None
        if never:
            return Outcome(found, replies.text(org, "nothing_to_cancel_text"))
        return Outcome(found, replies.text(org, "goodbye_text"))

    if command == Command.INFO:
        return Outcome(subscriber, info_text(org, subscriber))

    if command == Command.MY_DATA:
        if subscriber is None:
            return Outcome(None, _("We hold no data about this number."))
        return Outcome(subscriber, privacy.summary(subscriber))

    if command == Command.TOPICS:
        if subscriber is None or subscriber.status not in (S.ACTIVE, S.PENDING) or not parsed.rest:
            return Outcome(subscriber, topics_text(org, subscriber))
        topics, unknown = _change_topics(org, subscriber, parsed.rest)
        if unknown:
            return Outcome(
                subscriber,
                _("Unknown topic: %(words)s.") % {"words": _shown(unknown)}
                + "\n\n"
                + topics_text(org, subscriber),
            )
        change = service.set_topics(subscriber, topics, source=source, evidence=evidence, when=when)
        if change.stale:
            return Outcome(change.subscriber, None)
        done = _("Done.") + " " + _state(org, change.subscriber)
        return Outcome(change.subscriber, replies.join(done, _leave_hint(org, done)))

    return Outcome(subscriber, None)  # not a command: the caller decides about the pointer
