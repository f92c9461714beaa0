"""What citizens are told, through the real sandbox, receiver and worker: every reply says
what happened. The expected sentences are rendered here in the comune's language by the
same code the worker runs, so the test holds whatever the catalogue's wording."""

import pytest
from django.conf import settings
from django.utils import translation

from banditore.subscribers import replies
from banditore.subscribers.models import Subscriber, Zone
from banditore.webhooks.models import InboundMessage
from tests import processes
from tests.e2e.conftest import Phone
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def said(org, field, **facts):
    with translation.override(settings.LANGUAGE_CODE):
        return replies.text(org, field, **facts)


def test_each_citizen_is_told_what_happened(comune, running):
    Zone.objects.create(organization=comune, slug="centro", name="Centro", position=0)
    Zone.objects.create(organization=comune, slug="borgomeduna", name="Borgomeduna", position=1)
    anna, bruno, carla, dora, eva, fabio = (Phone(running, f"+39333111000{n}") for n in range(1, 7))
    subscribe(comune, fabio.number)

    anna.write("iscrivimi a viabilità e eventi")
    bruno.write("STOP")
    carla.write("Iscrivimi Borgo")
    dora.write("TEMI")
    eva.write("A che ora apre la biblioteca?")
    fabio.write("Il bus passa ancora in via Roma?")

    welcome = anna.wait_for_message(said(comune, "chosen_text", topics="Viabilità, Eventi"))
    assert welcome["text"].count("CANCELLAMI") == 1
    assert welcome["text"].endswith(said(comune, "leave_text"))

    nothing = bruno.wait_for_message(said(comune, "nothing_to_cancel_text"))
    assert nothing["text"] == said(comune, "nothing_to_cancel_text")

    ignored = said(comune, "unknown_zone_text", words="Borgo", zones="Centro, Borgomeduna")
    carla.wait_for_message(ignored)

    topics = dora.wait_for_message("1. Protezione civile")
    assert "✅" not in topics["text"] and "▫️" not in topics["text"]

    eva.wait_for_message(said(comune, "join_text"))
    fabio.wait_for_message(said(comune, "leave_text"))

    # The same day's second question: nothing goes out, but the office keeps it.
    eva.write("E la domenica è aperta?")
    processes.wait_for(
        lambda: InboundMessage.objects.filter(sender=eva.number).count() == 2,
        20,
        "the second question to be stored",
    )
    assert [m.text for m in InboundMessage.objects.filter(sender=eva.number).order_by("id")] == [
        "A che ora apre la biblioteca?",
        "E la domenica è aperta?",
    ]
    assert len(eva.received()) == 1

    assert set(Subscriber.objects.get(phone=anna.number).topics.values_list("slug", flat=True)) == {
        "viabilita",
        "eventi",
    }
    assert Subscriber.objects.get(phone=carla.number).zone is None
    assert not Subscriber.objects.filter(phone=bruno.number, status="active").exists()
    assert not Subscriber.objects.filter(phone=dora.number).exists()
