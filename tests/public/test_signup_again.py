"""Signing up a number that is already known changes nothing (see test_signup_abuse.py):
an active one."""

from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe

from .helpers import signed_up_page

S = Subscriber.Status


def test_it_leaves_an_active_number_alone_without_telling_a_stranger_it_is_subscribed(
    client, comune
):
    subscriber = subscribe(comune, "+393339135528", topics=["eventi"])
    events_before = ConsentEvent.objects.count()

    page = signed_up_page(client, phone="333.9135528", topics=[str(comune.topics.first().pk)])

    html = page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == S.ACTIVE
    assert subscriber.confirmation_code == ""
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["eventi"]
    assert ConsentEvent.objects.count() == events_before
    # The page looks like any new sign-up's: nobody learns who is on the list.
    assert "You are already subscribed" not in html
    assert "Your number is not active yet." in html and "wa.me" in html


def test_the_owner_of_an_active_number_learns_it_on_whatsapp(client, comune):
    import re

    from tests.chat import write

    subscribe(comune, "+393339135528")
    html = signed_up_page(client, phone="333.9135528").content.decode()
    code = re.search(r"ISCRIVIMI%20([A-Z0-9]{6})", html).group(1)
    answer = write(comune.channels.get(), "+393339135528", f"ISCRIVIMI {code}")
    assert "già iscritto" in answer
