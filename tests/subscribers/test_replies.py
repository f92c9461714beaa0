"""Every reply says what happened: intent, topics, zone, what was ignored, how to leave.

The table plays what citizens write through the comune's parser and chat.handle, and
checks the subscription that results and the reply's key sentence (English source text:
tests/subscribers/conftest.py runs these under English).
"""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone, translation

from banditore.broadcasts.models import Delivery
from banditore.core.models import Organization
from banditore.sandbox.defaults import TEMPLATE_BODY
from banditore.subscribers import chat, replies, service
from banditore.subscribers.keywords import Command, Parsed
from banditore.subscribers.models import ConsentEvent, Subscriber, Zone
from banditore.webhooks.inbound import pointer
from banditore.webhooks.models import InboundMessage
from tests.chat import write
from tests.factories import channel_of, subscribe, web_signup

CITIZEN = "+393331112222"
ALL = {"protezione-civile", "viabilita", "eventi", "farmacie", "servizi"}
EVERY_TOPIC = (
    "You will receive: Protezione civile, Viabilità, Eventi, Farmacie di turno, Servizi comunali."
)
LEAVE = "To leave write CANCELLAMI."
NOT_A_ZONE = "is not a zone: the zones are Centro, Borgomeduna. I subscribed you without a zone."
migration = importlib.import_module("banditore.core.migrations.0007_replies_blank_means_built_in")


@pytest.fixture
def comune(comune):
    Zone.objects.create(organization=comune, slug="centro", name="Centro", position=0)
    Zone.objects.create(organization=comune, slug="borgomeduna", name="Borgomeduna", position=1)
    return comune


def handle(org, text, phone=CITIZEN):
    return chat.handle(
        org, phone, org.keywords.parse(text), evidence={"text": text}, when=timezone.now()
    )


def state(phone=CITIZEN):
    subscriber = Subscriber.objects.filter(phone=phone).first()
    if subscriber is None:
        return None, set(), None
    topics = set(subscriber.topics.values_list("slug", flat=True))
    return subscriber.status, topics, subscriber.zone.slug if subscriber.zone_id else None


# (what the citizen writes, status, topics, zone, sentences the reply must hold)
SIGN_UPS = [
    ("ISCRIVIMI", "active", ALL, None, [EVERY_TOPIC]),
    ("iscrivimi", "active", ALL, None, [EVERY_TOPIC]),
    ("Iscrivimi viabilità", "active", {"viabilita"}, None, ["You will receive: Viabilità."]),
    ("ISCRIVIMI VIABILITA", "active", {"viabilita"}, None, ["You will receive: Viabilità."]),
    ("iscrivimi viabilita'", "active", {"viabilita"}, None, ["You will receive: Viabilità."]),
    (
        "iscrivimi a viabilità e eventi",
        "active",
        {"viabilita", "eventi"},
        None,
        ["You will receive: Viabilità, Eventi."],
    ),
    (
        "Iscrivimi per viabilità ed eventi, grazie",
        "active",
        {"viabilita", "eventi"},
        None,
        ["You will receive: Viabilità, Eventi."],
    ),
    (
        "ISCRIVIMI protezione civile, farmacie",
        "active",
        {"protezione-civile", "farmacie"},
        None,
        ["You will receive: Protezione civile, Farmacie di turno."],
    ),
    (
        "iscrivimi farmacie di turno",
        "active",
        {"farmacie"},
        None,
        ["You will receive: Farmacie di turno."],
    ),
    ("ISCRIVIMI 2 3", "active", {"viabilita", "eventi"}, None, ["Viabilità, Eventi."]),
    ("iscrivimi 🚗 viabilità!!", "active", {"viabilita"}, None, ["You will receive: Viabilità."]),
    ("iscrivimi centro", "active", ALL, "centro", [EVERY_TOPIC, "Zone: Centro."]),
    ("Iscrivimi zona Centro", "active", ALL, "centro", ["Zone: Centro."]),
    (
        "iscrivimi viabilità zona borgomeduna",
        "active",
        {"viabilita"},
        "borgomeduna",
        ["You will receive: Viabilità.", "Zone: Borgomeduna."],
    ),
    (
        "iscrivimi eventi a Borgomeduna",
        "active",
        {"eventi"},
        "borgomeduna",
        ["You will receive: Eventi.", "Zone: Borgomeduna."],
    ),
    ("Iscrivimi Borgo", "active", ALL, None, ["Borgo " + NOT_A_ZONE, EVERY_TOPIC]),
    ("iscrivimi a borgo vecchio", "active", ALL, None, ["Borgo, Vecchio " + NOT_A_ZONE]),
    (
        "iscrivimi viabilità borgo",
        "active",
        {"viabilita"},
        None,
        ["Borgo " + NOT_A_ZONE, "You will receive: Viabilità."],
    ),
    (
        "ISCRIVIMI ABC123",
        "active",
        ALL,
        None,
        ["The code ABC123 does not match a sign-up from the web page: it was ignored."],
    ),
    (
        "iscrivimi eventi XK7P2Q",
        "active",
        {"eventi"},
        None,
        ["The code XK7P2Q does not match", "You will receive: Eventi."],
    ),
]


@pytest.mark.parametrize(("text", "status", "topics", "zone", "sentences"), SIGN_UPS)
def test_a_sign_up_says_what_was_chosen_and_what_was_ignored(
    comune, text, status, topics, zone, sentences
):
    outcome = handle(comune, text)
    assert state() == (status, topics, zone)
    for sentence in sentences:
        assert sentence in outcome.reply, (text, outcome.reply)
    # How to leave, once, at the end.
    assert outcome.reply.count("CANCELLAMI") == 1 and outcome.reply.endswith(LEAVE)
    event = ConsentEvent.objects.get(action="subscribe")
    assert set(event.topics) == topics and event.zone == (zone or "")


def test_an_unknown_word_in_a_comune_without_zones_is_said_not_to_be_a_topic(comune):
    comune.zones.all().delete()
    outcome = handle(comune, "iscrivimi calcio")
    assert state() == ("active", ALL, None)
    assert "Calcio is not a topic: the topics are Protezione civile, Viabilità" in outcome.reply


def test_a_stranger_leaving_is_told_there_is_nothing_to_cancel(comune):
    outcome = handle(comune, "STOP")
    assert outcome.reply == "This number is not subscribed: there is nothing to cancel."
    assert not Subscriber.objects.filter(status="active").exists()
    assert "deactivated" not in outcome.reply


def test_leaving_twice_is_told_there_is_nothing_left_to_cancel(comune):
    subscribe(comune, CITIZEN)
    first = handle(comune, "CANCELLAMI")
    assert "You will no longer receive messages from the Comune di Pordenone" in first.reply
    assert state()[0] == "unsubscribed"
    second = handle(comune, "CANCELLAMI")
    assert second.reply == "This number is not subscribed: there is nothing to cancel."


def test_topics_from_a_stranger_shows_no_ticks(comune):
    outcome = handle(comune, "TEMI")
    assert "✅" not in outcome.reply and "▫️" not in outcome.reply
    assert "1. Protezione civile" in outcome.reply
    assert "You are not subscribed: write ISCRIVIMI to start." in outcome.reply
    assert Subscriber.objects.count() == 0


def test_topics_from_someone_who_left_shows_no_ticks(comune):
    subscribe(comune, CITIZEN)
    handle(comune, "CANCELLAMI")
    outcome = handle(comune, "TEMI")
    assert "✅" not in outcome.reply and "You are not subscribed" in outcome.reply


def test_a_sign_up_waiting_for_approval_says_so_and_topics_too(comune):
    comune.require_approval = True
    comune.save()
    outcome = handle(comune, "iscrivimi viabilità")
    assert state() == ("pending", {"viabilita"}, None)
    assert outcome.reply.startswith(
        "Request received: the Comune di Pordenone will confirm your subscription soon."
    )
    assert "You will receive: Viabilità." in outcome.reply and outcome.reply.endswith(LEAVE)
    topics = handle(comune, "TEMI").reply
    assert "waiting for the approval of the Comune di Pordenone" in topics
    assert "not subscribed" not in topics and "✅ 2. Viabilità" in topics
    again = handle(comune, "ISCRIVIMI").reply
    assert "will confirm your subscription soon" in again and "Viabilità." in again


def test_the_welcome_after_approval_does_not_repeat_how_to_leave(comune):
    comune.require_approval = True
    comune.save()
    handle(comune, "iscrivimi eventi")
    service.approve(comune, CITIZEN, actor_label="sindaca")
    notice = Delivery.objects.get(kind=Delivery.Kind.NOTICE)
    assert "Welcome to the WhatsApp service of the Comune di Pordenone" in notice.text
    assert "You will receive: Eventi." in notice.text
    # The template's own body says it: the welcome must not.
    assert "CANCELLAMI" not in notice.text and TEMPLATE_BODY.count("CANCELLAMI") == 1


def test_a_custom_welcome_that_says_how_to_leave_is_not_repeated(comune):
    comune.welcome_text = "Ciao da {name}!\nPer uscire scrivi CANCELLAMI."
    comune.require_approval = True
    comune.save()
    handle(comune, "ISCRIVIMI")
    service.approve(comune, CITIZEN, actor_label="sindaca")
    notice = Delivery.objects.get(kind=Delivery.Kind.NOTICE)
    assert (
        notice.text.startswith("Ciao da Comune di Pordenone!") and "CANCELLAMI" not in notice.text
    )
    comune.require_approval = False
    comune.save()
    reply = handle(comune, "ISCRIVIMI", phone="+393339998888").reply
    assert reply.startswith("Ciao da Comune di Pordenone!\nPer uscire scrivi CANCELLAMI.")
    assert reply.count("CANCELLAMI") == 1


def test_the_web_sign_up_code_is_accepted_and_a_wrong_one_is_said_ignored(comune):
    pending = web_signup(comune, CITIZEN, topics=list(comune.topics.filter(slug="eventi")))
    right = handle(comune, f"ISCRIVIMI {pending.confirmation_code}").reply
    assert "does not match" not in right and "You will receive: Eventi." in right
    other = web_signup(comune, "+393339998888", topics=list(comune.topics.filter(slug="eventi")))
    wrong = handle(comune, "ISCRIVIMI ZX94QT", phone=other.phone).reply
    assert "The code ZX94QT does not match a sign-up from the web page: it was ignored." in wrong
    # The number proved itself anyway, and keeps what it chose on the form.
    assert state(other.phone) == ("active", {"eventi"}, None)


def test_a_code_with_a_run_of_equal_characters_is_still_recognised(comune):
    pending = web_signup(comune, CITIZEN)
    Subscriber.objects.filter(pk=pending.pk).update(confirmation_code="XK777Q")
    reply = handle(comune, "ISCRIVIMI XK777Q").reply
    assert "does not match" not in reply and state()[0] == "active"


def test_already_subscribed_says_what_they_receive(comune):
    subscribe(comune, CITIZEN, topics=["viabilita"])
    reply = handle(comune, "ISCRIVIMI").reply
    assert "You are already subscribed to the WhatsApp service of the Comune di Pordenone." in reply
    assert "You will receive: Viabilità." in reply and reply.count("CANCELLAMI") == 1


def test_choosing_topics_says_the_result_and_how_to_leave(comune):
    subscribe(comune, CITIZEN)
    reply = handle(comune, "TEMI 1 3").reply
    assert reply == "Done. You will receive: Protezione civile, Eventi.\n" + LEAVE
    assert state() == ("active", {"protezione-civile", "eventi"}, None)


@pytest.mark.skipif(not hasattr(Command, "AMBIGUOUS"), reason="keywords.py has no AMBIGUOUS yet")
def test_an_ambiguous_message_gets_a_question_and_changes_nothing(comune):
    subscribe(comune, CITIZEN)
    parsed = Parsed(Command.AMBIGUOUS, "", "", candidates=(Command.SUBSCRIBE, Command.UNSUBSCRIBE))
    outcome = chat.handle(comune, CITIZEN, parsed, evidence={}, when=timezone.now())
    assert outcome.reply == "What would you like to do? Write ISCRIVIMI or CANCELLAMI."
    assert state()[0] == "active" and ConsentEvent.objects.count() == 1
    comune.ambiguous_text = "{name}: {choices}?"
    three = Parsed(Command.AMBIGUOUS, "", "", candidates=(Command.TOPICS, Command.UNSUBSCRIBE))
    reply = chat.handle(comune, CITIZEN, three, evidence={}, when=timezone.now()).reply
    assert reply == "Comune di Pordenone: TEMI or CANCELLAMI?"


@pytest.mark.skipif(not hasattr(Command, "AMBIGUOUS"), reason="keywords.py has no AMBIGUOUS yet")
def test_a_message_the_parser_finds_ambiguous_is_asked_back(comune):
    parsed = comune.keywords.parse("non so se iscrivermi o cancellarmi")
    if parsed is None or parsed.command != Command.AMBIGUOUS:
        pytest.skip("the parser does not read this phrase as ambiguous yet")
    outcome = chat.handle(comune, CITIZEN, parsed, evidence={}, when=timezone.now())
    assert outcome.reply.startswith("What would you like to do? Write ")
    assert Subscriber.objects.filter(status="active").count() == 0


def test_the_pointer_says_how_to_join_or_leave(comune):
    text = pointer(comune, None)
    assert text.startswith("This number of the Comune di Pordenone only sends news")
    assert "URP 800 000 000" in text and text.endswith("To subscribe write ISCRIVIMI.")
    subscriber = subscribe(comune, CITIZEN)
    assert pointer(comune, subscriber).endswith(LEAVE)
    comune.pointer_text = "Scrivete all'URP: {contacts}. Per uscire: CANCELLAMI"
    assert (
        pointer(comune, subscriber) == "Scrivete all'URP: URP 800 000 000. Per uscire: CANCELLAMI"
    )


def test_a_pointer_held_back_sends_nothing_but_keeps_the_message(comune):
    channel = channel_of(comune)
    first = write(channel, CITIZEN, "A che ora apre la biblioteca?")
    assert first and "URP 800 000 000" in first and "ISCRIVIMI" in first
    second = write(channel, CITIZEN, "E domenica è aperta?")
    assert second is None
    kept = list(InboundMessage.objects.filter(sender=CITIZEN).order_by("id"))
    assert [m.text for m in kept] == ["A che ora apre la biblioteca?", "E domenica è aperta?"]
    assert [m.handling for m in kept] == [InboundMessage.Handling.POINTER, "ignored"]
    assert Delivery.objects.filter(recipient=CITIZEN).count() == 1


def test_blank_texts_mean_the_built_in_ones_and_the_comunes_own_win(comune):
    assert comune.welcome_text == "" and comune.nothing_to_cancel_text == ""
    comune.nothing_to_cancel_text = "Niente da fare per {name} {oops} {"
    comune.save()
    assert handle(comune, "STOP").reply == "Niente da fare per Comune di Pordenone {oops} {"
    comune.nothing_to_cancel_text = "   "
    assert handle(comune, "STOP", phone="+393339998888").reply.startswith("This number is not")


def test_the_migration_blanks_only_the_old_defaults(comune):
    kept = Organization.objects.create(name="Comune di Sacile", slug="sacile")
    Organization.objects.filter(pk=comune.pk).update(**migration.OLD_DEFAULTS)
    Organization.objects.filter(pk=kept.pk).update(welcome_text="Benvenuti a Sacile!")
    migration.blank_the_old_defaults(apps, None)
    comune.refresh_from_db()
    kept.refresh_from_db()
    assert [getattr(comune, f) for f in migration.OLD_DEFAULTS] == ["", "", "", ""]
    assert kept.welcome_text == "Benvenuti a Sacile!"
    migration.restore_the_old_defaults(apps, None)
    comune.refresh_from_db()
    assert comune.welcome_text == migration.OLD_DEFAULTS["welcome_text"]


def test_italian_citizens_read_every_built_in_reply_in_italian(comune):
    with translation.override("en"):
        english = {field: replies.built_in(field) for field in replies.FIELDS}
    with translation.override("it"):
        assert handle(comune, "STOP").reply.startswith("Questo numero non è iscritto")
        for field in replies.FIELDS:
            assert replies.built_in(field) != english[field], field


def test_every_reply_text_is_a_setting_previewed_on_the_settings_page():
    from banditore.console.staff_forms import OrganizationSettings

    assert set(replies.FIELDS) <= set(OrganizationSettings.base_fields)
    assert OrganizationSettings.TEXTS == replies.FIELDS
    for field in replies.FIELDS:
        assert Organization._meta.get_field(field).default == ""
