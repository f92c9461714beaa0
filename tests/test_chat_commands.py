"""Every WhatsApp command, as a citizen types it, and the one short answer it gets."""

import pytest

from banditore.subscribers.models import ConsentEvent, Subscriber, Zone
from tests.chat import notify, write
from tests.factories import channel_of, subscribe

CITIZEN = "+393331112222"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def topics_of(phone):
    return set(Subscriber.objects.get(phone=phone).topics.values_list("slug", flat=True))


@pytest.mark.parametrize("text", ["ISCRIVIMI", "iscrizione", "START", "subscribe", "Iscrivimi!!"])
def test_it_subscribes_with_every_sign_up_word(channel, text):
    assert "Benvenuto" in write(channel, CITIZEN, text)
    assert Subscriber.objects.get(phone=CITIZEN).status == "active"


@pytest.mark.parametrize("text", ["CANCELLAMI", "stop", "Disiscrivimi", "BASTA!", "unsubscribe"])
def test_it_unsubscribes_with_every_opt_out_word(channel, comune, text):
    subscribe(comune, CITIZEN)
    assert "Non riceverai più messaggi" in write(channel, CITIZEN, text)
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"


def test_a_comune_can_add_its_own_words(channel, comune):
    comune.subscribe_keywords = "Attiva VanzApp\nservizio info on"
    comune.unsubscribe_keywords = "Stop VanzApp, servizio info off"
    comune.save()
    write(channel, CITIZEN, "servizio info ON Mario Rossi")
    assert Subscriber.objects.get(phone=CITIZEN).status == "active"
    write(channel, CITIZEN, "Servizio Info OFF")
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"


@pytest.mark.parametrize("text", ["INFO", "aiuto", "Aiuto?"])
def test_info_explains_the_service_topics_commands_and_privacy(channel, text):
    answer = write(channel, CITIZEN, text)
    for part in ["Comune di Pordenone", "Viabilità", "CANCELLAMI", "TEMI", "I MIEI DATI"]:
        assert part in answer
    assert "https://comune.example/privacy" in answer
    assert not Subscriber.objects.exists()  # asking is not subscribing


def test_temi_lists_topics_with_numbers_and_marks(channel, comune):
    subscribe(comune, CITIZEN, topics=["viabilita"])
    answer = write(channel, CITIZEN, "TEMI")
    assert "1. Protezione civile" in answer and "2. Viabilità" in answer
    assert "✅ 2. Viabilità" in answer and "▫️ 1. Protezione civile" in answer


def test_temi_with_numbers_chooses_exactly_those(channel, comune):
    subscribe(comune, CITIZEN)
    answer = write(channel, CITIZEN, "TEMI 1 3")
    assert topics_of(CITIZEN) == {"protezione-civile", "eventi"}
    # The reply says the result in one sentence.
    assert "Protezione civile, Eventi." in answer
    event = ConsentEvent.objects.filter(action="topics").get()
    assert event.topics == ["eventi", "protezione-civile"] and event.source == "whatsapp"


def test_temi_accepts_names_and_tutti(channel, comune):
    subscribe(comune, CITIZEN, topics=[])
    write(channel, CITIZEN, "temi viabilità, protezione civile")
    assert topics_of(CITIZEN) == {"viabilita", "protezione-civile"}
    write(channel, CITIZEN, "Temi tutti")
    assert len(topics_of(CITIZEN)) == 5


def test_plus_and_minus_add_and_remove(channel, comune):
    subscribe(comune, CITIZEN, topics=["eventi"])
    write(channel, CITIZEN, "+VIABILITA -EVENTI")
    assert topics_of(CITIZEN) == {"viabilita"}
    write(channel, CITIZEN, "+farmacie di turno, + 1")
    assert topics_of(CITIZEN) == {"viabilita", "farmacie", "protezione-civile"}


def test_an_unknown_topic_changes_nothing_and_says_so(channel, comune):
    subscribe(comune, CITIZEN, topics=["eventi"])
    answer = write(channel, CITIZEN, "TEMI 1 calcio")
    assert "calcio" in answer
    assert topics_of(CITIZEN) == {"eventi"}
    assert not ConsentEvent.objects.filter(action="topics").exists()


def test_temi_from_a_stranger_lists_and_invites_to_subscribe(channel):
    answer = write(channel, CITIZEN, "TEMI 1")
    assert "ISCRIVIMI" in answer
    assert not Subscriber.objects.exists()


def test_iscrivimi_with_a_zone_or_topics(channel, comune):
    Zone.objects.create(organization=comune, name="Postioma", slug="postioma")
    write(channel, CITIZEN, "Iscrivimi Postioma")
    assert Subscriber.objects.get(phone=CITIZEN).zone.slug == "postioma"
    write(channel, "+393331113333", "iscrivimi viabilità")
    assert topics_of("+393331113333") == {"viabilita"}


def test_i_miei_dati_gives_a_summary_and_a_signed_link(channel, comune):
    subscribe(comune, CITIZEN, topics=["viabilita"])
    answer = write(channel, CITIZEN, "I miei dati")
    assert CITIZEN in answer and "Viabilità" in answer and "/dati/" in answer
    assert "nessun dato" not in answer.lower()
    assert "Nessun dato" in write(channel, "+393339998888", "i miei dati")


def test_after_cancellami_nothing_more_until_iscrivimi(channel, comune):
    from banditore.broadcasts import audience
    from banditore.broadcasts.models import Broadcast, Delivery

    subscribe(comune, CITIZEN)
    write(channel, CITIZEN, "CANCELLAMI")
    broadcast = Broadcast.objects.create(organization=comune, channel=channel, text="News")
    audience.start(broadcast)
    assert not Delivery.objects.filter(broadcast=broadcast, recipient=CITIZEN).exists()
    write(channel, CITIZEN, "ISCRIVIMI")
    second = Broadcast.objects.create(organization=comune, channel=channel, text="News 2")
    audience.start(second)
    assert Delivery.objects.filter(broadcast=second, recipient=CITIZEN).exists()


def test_metas_stop_signal_unsubscribes_without_an_answer(channel, comune):
    subscribe(comune, CITIZEN)
    notify(
        channel,
        "user_preferences",
        {
            "messaging_product": "whatsapp",
            "user_preferences": [
                {
                    "wa_id": CITIZEN.lstrip("+"),
                    "detail": "User requested to stop marketing messages",
                    "category": "marketing_messages",
                    "value": "stop",
                    "timestamp": 1731705721,
                }
            ],
        },
    )
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"
    assert ConsentEvent.objects.filter(action="unsubscribe", source="provider").exists()


def test_error_131050_counts_as_an_opt_out(channel, comune):
    from banditore.broadcasts.models import Delivery
    from tests.test_webhook_processing import status, status_payload, store

    subscriber = subscribe(comune, CITIZEN)
    Delivery.objects.create(
        organization=comune,
        channel=channel,
        subscriber=subscriber,
        recipient=CITIZEN,
        status="sent",
        wamid="w.optout",
    )
    store(channel, status_payload(status("w.optout", "failed", errors=[{"code": 131050}])))
    from banditore.webhooks.tasks import apply_pending_events

    apply_pending_events()
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"
