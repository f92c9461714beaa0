"""What the service answers on WhatsApp: one short reply per command, never a conversation.

`handle` turns a citizen's message into subscription changes and at most one reply text.
Like keywords.py, it reads the message by plain tokenising, in time linear in its length.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from banditore.core.models import Organization
from banditore.subscribers import privacy, service
from banditore.subscribers.keywords import Command, Parsed, normalize, topic_changes
from banditore.subscribers.models import ConsentEvent, Subscriber, Topic

S = Subscriber.Status
WHATSAPP = ConsentEvent.Source.WHATSAPP
# An answer quotes at most this many unknown words, each cut to this length: a message
# can hold thousands, and the answer must fit in one WhatsApp message.
UNKNOWN_SHOWN = 5
UNKNOWN_WIDTH = 30


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


def _topic_list(org: Organization, subscriber: Subscriber | None) -> str:
    chosen = set(subscriber.topics.values_list("id", flat=True)) if subscriber else set()
    lines = [
        f"{'✅' if topic.id in chosen else '▫️'} {n}. {topic.name}"
        for n, topic in enumerate(org.topics.all(), start=1)
    ]
    return "\n".join(lines)


def info_text(org: Organization, subscriber: Subscriber | None) -> str:
    return _(
        "%(name)s on WhatsApp: %(description)s. This number only sends news and does not "
        "read messages.\n\nTopics:\n%(topics)s\n\nCommands: ISCRIVIMI to subscribe, "
        "CANCELLAMI to leave, TEMI to choose topics, I MIEI DATI for your data.\n"
        "Privacy notice: %(privacy)s"
    ) % {
        "name": org.name,
        "description": org.description,
        "topics": _topic_list(org, subscriber),
        "privacy": org.privacy_notice_url or "-",
    }


def topics_text(org: Organization, subscriber: Subscriber | None) -> str:
    text = _("Topics (✅ = you receive them):\n%(list)s\n\n") % {
        "list": _topic_list(org, subscriber)
    }
    text += _(
        "To choose write e.g. TEMI 1 3 (only those), TEMI TUTTI (all), or +VIABILITA -EVENTI."
    )
    if subscriber is None or subscriber.status != S.ACTIVE:
        text += "\n" + _("You are not subscribed: write ISCRIVIMI to start.")
    return text


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


def _signup_extras(org, rest: str, subscriber: Subscriber | None):
    """The zone or topics in 'Iscrivimi <frazione>' / 'Iscrivimi viabilità eventi'.

    'Iscrivimi <codice>' from the web page needs nothing here: a message from the number
    proves it whatever the code, and a pending web sign-up keeps the choices of its form.
    """
    words = rest.strip()
    if not words:
        return None, None
    zone = _Choices(org.zones.all()).find(words)
    if zone is not None:
        return zone, None
    topics, unknown = _change_topics(org, subscriber or Subscriber(), words)
    return None, (topics if topics and not unknown else None)


def handle(
    org: Organization,
    phone: str,
    parsed: Parsed | None,
    *,
    evidence: dict,
    when: datetime | None,
) -> Outcome:
    """Apply one message written at `when` (the citizen's timestamp).

    A command older than one the citizen already had applied (a late retry, webhooks out
    of order) changes nothing and gets no answer: the newer command got its own.
    """
    subscriber = Subscriber.objects.filter(organization=org, phone=phone).first()
    command = parsed.command if parsed else None

    if command == Command.SUBSCRIBE:
        zone, topics = _signup_extras(org, parsed.rest, subscriber)
        change = service.confirm_number(
            org, phone, evidence=evidence, when=when, zone=zone, topics=topics
        )
        subscriber = change.subscriber
        if change.stale:
            return Outcome(subscriber, None)
        if subscriber.status == S.PENDING:
            return Outcome(
                subscriber,
                _("Request received: the %(name)s will confirm your subscription soon.")
                % {"name": org.name},
            )
        return Outcome(
            subscriber, org.render(org.welcome_text if change.changed else org.already_text)
        )

    if command == Command.UNSUBSCRIBE:
        change = service.unsubscribe(org, phone, source=WHATSAPP, evidence=evidence, when=when)
        if change is None:  # a number never seen, and no time of the citizen's to keep
            return Outcome(None, org.render(org.goodbye_text))
        if change.stale:
            return Outcome(change.subscriber, None)
        return Outcome(change.subscriber, org.render(org.goodbye_text))

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
        change = service.set_topics(
            subscriber, topics, source=WHATSAPP, evidence=evidence, when=when
        )
        if change.stale:
            return Outcome(change.subscriber, None)
        return Outcome(subscriber, _("Done.") + " " + topics_text(org, subscriber))

    return Outcome(subscriber, None)  # not a command: the caller decides about the pointer
