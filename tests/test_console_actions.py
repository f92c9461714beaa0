"""What the office does from the console (Django admin): approve, erase, read the history."""

import pytest
from django.contrib.auth import get_user_model

from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.chat import write
from tests.factories import channel_of, subscribe


@pytest.fixture
def office(client, db):
    user = get_user_model().objects.create_superuser("ufficio", "u@example.it", "pw-12345678")
    client.force_login(user)
    return client


def act(office, action, subscribers):
    return office.post(
        "/admin/subscribers/subscriber/",
        {"action": action, "_selected_action": [s.pk for s in subscribers]},
        follow=True,
    )


def test_the_office_approves_proven_sign_ups(office, comune):
    comune.require_approval = True
    comune.save()
    write(channel_of(comune), "+393331110001", "ISCRIVIMI")
    response = act(office, "approve", Subscriber.objects.all())
    assert response.status_code == 200
    assert Subscriber.objects.get().status == "active"
    assert ConsentEvent.objects.get(action="approve").evidence == {"operator": "ufficio"}


def test_the_office_erases_a_subscriber(office, comune):
    subscribe(comune, "+393331110001")
    act(office, "erase", Subscriber.objects.all())
    assert not Subscriber.objects.exists()
    assert ConsentEvent.objects.filter(action="erase", source="operator").exists()


def test_the_subscriber_page_shows_the_consent_history(office, comune):
    subscriber = subscribe(comune, "+393331110001")
    service.unsubscribe(comune, subscriber.phone, source="whatsapp", evidence={"wamid": "w.1"})
    page = office.get(f"/admin/subscribers/subscriber/{subscriber.pk}/change/").content.decode()
    assert page.count("whatsapp") >= 1 and "operator" in page.lower()
