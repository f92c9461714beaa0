"""Access, export and erasure: what a citizen can ask, and what stays as proof."""

import pytest

from banditore.broadcasts import audience
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.phone import phone_hash
from banditore.subscribers import privacy
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage
from tests.chat import write
from tests.factories import channel_of

CITIZEN = "+393331112222"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


@pytest.fixture
def history(channel, comune):
    """A citizen who subscribed, got a broadcast, wrote something and chose topics."""
    write(channel, CITIZEN, "ISCRIVIMI")
    write(channel, CITIZEN, "Quando passa la nettezza urbana in via Roma 12?")
    write(channel, CITIZEN, "TEMI 2")
    broadcast = Broadcast.objects.create(organization=comune, channel=channel, text="Strade")
    audience.start(broadcast)
    Delivery.objects.filter(broadcast=broadcast).update(status="read", wamid="wamid.HBgM123")
    return Subscriber.objects.get(phone=CITIZEN)


def test_the_signed_link_exports_everything_as_json(client, history):
    url = privacy.export_url(history)
    response = client.get(url[url.index("/dati/") :])
    assert response.status_code == 200
    data = response.json()
    assert data["numero"] == CITIZEN and data["temi"] == ["Viabilità"]
    assert [c["azione"] for c in data["consensi"]] == ["subscribe", "topics"]
    assert any(m["testo"] == "Strade" for m in data["messaggi"])
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("token", ["1", "1:forged:sig", "x" * 80])
def test_a_forged_link_shows_nothing(client, history, token):
    response = client.get(f"/dati/{token}")
    assert response.status_code == 404
    assert CITIZEN not in response.content.decode()


def test_erase_removes_personal_data_and_keeps_pseudonymous_proof(comune, history):
    assert privacy.erase(comune, CITIZEN, actor_label="ufficio")
    assert not Subscriber.objects.exists()
    assert not InboundMessage.objects.filter(sender=CITIZEN).exists()
    delivery = Delivery.objects.get(kind="broadcast")
    assert delivery.recipient == "" and delivery.wamid is None and delivery.status == "read"
    proof = ConsentEvent.objects.order_by("id")
    assert list(proof.values_list("action", flat=True)) == ["subscribe", "topics", "erase"]
    assert all(e.phone == "" and e.phone_hash == phone_hash(CITIZEN) for e in proof)
    assert all(e.evidence in ({"redacted": True}, {"by": "ufficio"}) for e in proof)
    everything = repr(list(ConsentEvent.objects.values())) + repr(list(Delivery.objects.values()))
    assert CITIZEN not in everything and CITIZEN.lstrip("+") not in everything


def test_erasing_an_unknown_number_says_so(comune):
    assert not privacy.erase(comune, "+393339990000", actor_label="ufficio")


def test_an_erased_number_can_subscribe_again_from_scratch(channel, comune, history):
    privacy.erase(comune, CITIZEN, actor_label="ufficio")
    assert "Benvenuto" in write(channel, CITIZEN, "ISCRIVIMI")
    assert Subscriber.objects.get().status == "active"
