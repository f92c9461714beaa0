"""The main job over real HTTP: citizens write to a real sandbox process, the web app gets
signed webhooks, a real worker process applies them and drains broadcasts through the
dispatcher. Runs on SQLite and again on PostgreSQL (make test)."""

import io
import re
import time

import pytest
from django.core.management import call_command

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests import processes
from tests.e2e.conftest import Phone
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_citizen_subscribes_gets_news_and_leaves(comune, running):
    anna = Phone(running, "+393331110001")
    bruno = Phone(running, "+393331110002")
    carla = Phone(running, "+393331110003")

    for phone in (anna, bruno, carla):
        phone.write("Iscrivimi!")
    for phone in (anna, bruno, carla):
        phone.wait_for_message("Benvenuto")
    assert Subscriber.objects.filter(status="active").count() == 3
    assert ConsentEvent.objects.filter(action="subscribe", source="whatsapp").count() == 3

    carla.write("CANCELLAMI")
    carla.wait_for_message("Non riceverai più messaggi")
    assert Subscriber.objects.get(phone=carla.number).status == "unsubscribed"

    # Dora signed up at the URP desk: she never wrote, so only the template reaches her.
    dora = Phone(running, "+393331110005")
    subscribe(comune, dora.number)

    out = io.StringIO()
    call_command(
        "broadcast", "send", "--text", "Giovedì mercato in piazza XX Settembre", stdout=out
    )
    broadcast = Broadcast.objects.get()
    assert "3 iscritti" in out.getvalue()
    message = dora.wait_for_message("Giovedì mercato")
    assert message["type"] == "template" and "Comune di Pordenone" in message["text"]

    for phone in (anna, bruno):
        message = phone.wait_for_message("Giovedì mercato")
        # They wrote minutes ago: inside their 24-hour window the news goes as free text,
        # which costs the comune nothing, not as the paid template.
        assert message["type"] == "text"
        assert message.get("pricing", {}).get("billable") is False
    assert not [m for m in carla.received() if "mercato" in (m.get("text") or "")]

    # Receipts flow back: every delivery ends up read (the sandbox reads them all).
    processes.wait_for(
        lambda: set(broadcast.deliveries.values_list("status", flat=True)) == {"read"},
        what="receipts",
    )
    broadcast.refresh_from_db()
    assert broadcast.status == "sent"

    out = io.StringIO()
    call_command("broadcast", "status", str(broadcast.pk), stdout=out)
    assert re.search(r"letto +3\n", out.getvalue())  # 'read', in Italian first


def test_the_pointer_answers_other_messages_once(comune, running):
    dario = Phone(running, "+393331110004")
    dario.write("Buongiorno, a che ora apre l'anagrafe?")
    dario.wait_for_message("URP 800 000 000")
    dario.write("Grazie")
    time.sleep(1.5)
    pointers = [m for m in dario.received() if "URP" in (m.get("text") or "")]
    assert len(pointers) == 1
    assert not Subscriber.objects.filter(phone=dario.number).exists()


def test_the_dispatcher_keeps_to_the_channels_rate(comune, running):
    """60 subscribers at 20 msg/s: it takes about 3 s and the sandbox never throttles us."""
    channel = Channel.objects.get()
    Subscriber.objects.bulk_create(
        Subscriber(organization=comune, phone=f"+39333200{i:04d}", status="active")
        for i in range(60)
    )
    call_command("broadcast", "send", "--text", "Allerta meteo gialla", stdout=io.StringIO())
    started = time.monotonic()
    processes.wait_for(
        lambda: not Delivery.objects.filter(status__in=["queued", "sending"]).exists(),
        timeout=30,
        what="the broadcast to drain",
    )
    elapsed = time.monotonic() - started
    assert not Delivery.objects.filter(error_code=130429).exists()
    assert Delivery.objects.exclude(status="failed").count() == 60
    assert elapsed >= 59 / channel.rate_per_second * 0.9
