"""The web sign-up's consent proof: who, when, from where, with which notice, for what."""

from banditore.public.models import PrivacyNotice
from banditore.subscribers.models import ConsentEvent

from .helpers import UA, make_zone, sign_up


def test_it_records_the_web_consent_with_everything_that_proves_it(client, comune):
    zone = make_zone(comune, "borgomeduna", "Borgomeduna")
    topics = [str(comune.topics.get(slug=s).pk) for s in ("viabilita", "protezione-civile")]

    sign_up(client, phone="331 651 1331", topics=topics, zone=str(zone.pk))

    event = ConsentEvent.objects.get()
    assert event.organization == comune
    assert event.action == ConsentEvent.Action.SUBSCRIBE
    assert event.source == ConsentEvent.Source.WEB
    assert event.phone == "+393316511331"
    assert event.ip == "203.0.113.7"
    assert event.user_agent == UA
    assert event.notice_version == str(PrivacyNotice.objects.get(organization=comune).version)
    assert event.topics == ["protezione-civile", "viabilita"]
    assert event.zone == "borgomeduna"
    assert event.evidence["form"] == "iscriviti"
    assert event.evidence["page"] == "/iscriviti"
    assert event.evidence["privacy_box_ticked"] is True
    assert event.evidence["notice_url"] == "/privacy"
    assert event.evidence["language"] == "en"


def test_it_fingerprints_the_exact_notice_text_shown(client, comune):
    sign_up(client)

    event = ConsentEvent.objects.get()
    page = client.get("/privacy").content.decode()
    assert event.evidence["notice_sha256"] == PrivacyNotice.objects.get().sha256
    assert event.evidence["notice_sha256"] in page


def test_it_records_the_comune_prefixed_form_address(client, comune):
    sign_up(client, url="/c/pordenone/iscriviti")

    event = ConsentEvent.objects.get()
    assert event.evidence["page"] == "/c/pordenone/iscriviti"
    assert event.evidence["notice_url"] == "/c/pordenone/privacy"
