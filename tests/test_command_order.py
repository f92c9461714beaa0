"""A citizen's commands apply in the order they wrote them, whatever order they arrive in.

Meta retries a webhook for days and two workers may apply two webhooks at once: an older
ISCRIVIMI applied after a newer CANCELLAMI must not subscribe the citizen again.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from banditore.subscribers import chat, service
from banditore.subscribers.keywords import DEFAULT_KEYWORDS
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import make_comune, subscribe

CITIZEN = "+393331112222"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def send(org, text: str, t: int, phone: str = CITIZEN):
    parsed = DEFAULT_KEYWORDS.parse(text)
    return chat.handle(org, phone, parsed, evidence={"text": text}, when=at(t))


def status(phone: str = CITIZEN) -> str:
    return Subscriber.objects.get(phone=phone).status


def actions(phone: str = CITIZEN) -> list[str]:
    return list(
        ConsentEvent.objects.filter(phone=phone).order_by("id").values_list("action", flat=True)
    )


def test_an_older_iscrivimi_applied_after_a_newer_cancellami_changes_nothing(comune):
    send(comune, "ISCRIVIMI", 1)
    send(comune, "CANCELLAMI", 10)
    late = send(comune, "ISCRIVIMI", 5)
    assert status() == "unsubscribed"
    assert actions() == ["subscribe", "unsubscribe"]
    assert late.reply is None  # the newer CANCELLAMI got its own answer
    assert Subscriber.objects.get(phone=CITIZEN).last_command_at == at(10)


@pytest.mark.parametrize("applied", [(0, 1), (1, 0)], ids=["in order", "reversed"])
@pytest.mark.parametrize(
    ("written", "final"),
    [
        ((("CANCELLAMI", 5), ("ISCRIVIMI", 10)), "active"),
        ((("ISCRIVIMI", 5), ("CANCELLAMI", 10)), "unsubscribed"),
    ],
    ids=["left then came back", "came then left"],
)
def test_the_last_written_command_wins_whatever_the_arrival_order(comune, written, final, applied):
    subscribe(comune, CITIZEN)
    for i in applied:
        send(comune, *written[i])
    assert status() == final


def test_a_first_contact_that_left_at_once_stays_out(comune):
    send(comune, "CANCELLAMI", 10)  # overtook the ISCRIVIMI written before it
    send(comune, "ISCRIVIMI", 5)
    assert status() == "unsubscribed"
    assert actions() == ["unsubscribe"]


def test_a_repeated_command_still_counts_in_the_order(comune):
    send(comune, "ISCRIVIMI", 20)
    send(comune, "ISCRIVIMI", 30)  # already subscribed: changes nothing, but it is newer
    send(comune, "CANCELLAMI", 25)
    assert status() == "active"


def test_topic_changes_are_ordered_too(comune):
    subscribe(comune, CITIZEN)
    send(comune, "TEMI 1", 10)
    assert send(comune, "TEMI 2", 5).reply is None
    subscriber = Subscriber.objects.get(phone=CITIZEN)
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["protezione-civile"]
    assert actions().count("topics") == 1


def test_a_clock_far_in_the_future_is_taken_as_now(comune):
    subscribe(comune, CITIZEN)
    forged = timezone.now() + timedelta(days=365)
    service.unsubscribe(comune, CITIZEN, source="whatsapp", evidence={}, when=forged)
    subscriber = Subscriber.objects.get(phone=CITIZEN)
    assert subscriber.last_command_at < timezone.now() + timedelta(minutes=1)
    assert subscriber.unsubscribed_at < timezone.now() + timedelta(minutes=1)
    # Otherwise every real command for a year would be "older".
    send_now = chat.handle(
        comune, CITIZEN, DEFAULT_KEYWORDS.parse("ISCRIVIMI"), evidence={}, when=timezone.now()
    )
    assert send_now.subscriber.status == "active"


def test_a_small_lead_of_the_citizens_clock_keeps_their_order(comune):
    subscribe(comune, CITIZEN)
    ahead = timezone.now() + timedelta(minutes=2)
    service.unsubscribe(comune, CITIZEN, source="whatsapp", evidence={}, when=ahead)
    change = service.confirm_number(comune, CITIZEN, evidence={}, when=ahead - timedelta(seconds=1))
    assert change.stale and status() == "unsubscribed"


def test_a_provider_opt_out_is_not_undone_by_an_older_message(comune):
    subscribe(comune, CITIZEN)
    service.unsubscribe(comune, CITIZEN, source="provider", evidence={"error": 131050})
    written_before = timezone.now() - timedelta(minutes=1)
    change = service.confirm_number(comune, CITIZEN, evidence={}, when=written_before)
    assert change.stale and status() == "unsubscribed"


def test_an_operator_is_never_out_of_order(comune):
    send(comune, "CANCELLAMI", 10)
    change = service.subscribe(comune, CITIZEN, source="operator", evidence={}, when=at(1))
    assert change.changed and not change.stale and status() == "active"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_workers_applying_at_once_respect_the_citizens_order():
    org = make_comune()
    phones = [f"+39333111{n:04d}" for n in range(12)]
    for phone in phones:
        subscribe(org, phone)
    barrier = threading.Barrier(2)
    errors = []

    def worker(text: str, t: int):
        try:
            for phone in phones:
                barrier.wait()
                send(org, text, t, phone=phone)
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=worker, args=("ISCRIVIMI", 5)),
        threading.Thread(target=worker, args=("CANCELLAMI", 10)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert {status(phone) for phone in phones} == {"unsubscribed"}


def test_without_a_time_a_stranger_leaving_is_told_there_is_nothing_to_cancel(comune):
    parsed = DEFAULT_KEYWORDS.parse("CANCELLAMI")
    outcome = chat.handle(comune, CITIZEN, parsed, evidence={}, when=None)
    assert outcome.subscriber is None and "non c'è niente da cancellare" in outcome.reply
    assert not Subscriber.objects.exists()
