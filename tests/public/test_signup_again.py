"""Signing up a number that is already known: pending, unsubscribed, or active."""

from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe

from .helpers import sign_up, signed_up_page

S = Subscriber.Status


def test_it_gives_a_pending_number_a_new_code_that_replaces_the_old_one(client, comune):
    sign_up(client, phone="333 913 5528")
    first = Subscriber.objects.get().confirmation_code

    page = signed_up_page(client, phone="+39 333 9135528")

    subscriber = Subscriber.objects.get()
    assert subscriber.status == S.PENDING
    assert subscriber.confirmation_code not in ("", first)
    assert f"ISCRIVIMI%20{subscriber.confirmation_code}" in page.content.decode()
    assert ConsentEvent.objects.filter(action="subscribe", source="web").count() == 2


def test_it_brings_an_unsubscribed_number_back_to_pending_needing_proof_again(client, comune):
    subscribe(comune, "+393339135528")
    service.unsubscribe(comune, "+393339135528", source="whatsapp", evidence={})

    page = signed_up_page(client, phone="333.9135528")

    subscriber = Subscriber.objects.get()
    assert subscriber.status == S.PENDING
    assert subscriber.confirmation_code
    assert subscriber.confirmed_at is None
    assert subscriber.approved_at is None
    assert "Your number is not active yet." in page.content.decode()


def test_it_leaves_an_active_number_alone_and_says_it_is_already_subscribed(client, comune):
    subscriber = subscribe(comune, "+393339135528", topics=["eventi"])
    events_before = ConsentEvent.objects.count()

    page = signed_up_page(client, phone="333.9135528", topics=[str(comune.topics.first().pk)])

    html = page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == S.ACTIVE
    assert subscriber.confirmation_code == ""
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["eventi"]
    assert ConsentEvent.objects.count() == events_before
    assert "You are already subscribed" in html
    assert "wa.me" not in html
    assert "<svg" not in html
