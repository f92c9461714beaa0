"""The privacy notice is versioned: a changed text is a new version, the old ones stay
readable, and every consent names the version in force when it was given."""

from banditore.core.models import AuditEvent
from banditore.public.models import PrivacyNotice
from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent

from .helpers import sign_up


def test_the_first_look_publishes_version_1_and_the_same_text_stays_version_1(client, comune):
    client.get("/privacy")
    client.get("/iscriviti")
    client.get("/privacy")
    notice = PrivacyNotice.objects.get()
    assert notice.version == 1 and len(notice.sha256) == 64
    comune.refresh_from_db()
    assert comune.privacy_notice_version == "1"
    assert AuditEvent.objects.filter(action="privacy_notice.published").count() == 1


def test_a_changed_fact_is_a_new_version_and_consents_name_it(client, comune):
    sign_up(client, phone="3316511331")
    comune.dpo_contact = "rpd-nuovo@comune.example"
    comune.save()
    sign_up(client, phone="3316511332")

    first, second = ConsentEvent.objects.order_by("id")
    v1, v2 = PrivacyNotice.objects.order_by("version")
    assert (first.notice_version, second.notice_version) == ("1", "2")
    assert first.evidence["notice_sha256"] == v1.sha256
    assert second.evidence["notice_sha256"] == v2.sha256 != v1.sha256
    assert "rpd-nuovo@comune.example" in v2.html and "rpd-nuovo" not in v1.html


def test_a_keyword_sign_up_names_the_version_in_force(client, comune):
    client.get("/privacy")
    comune.dpo_contact = "rpd-2027@comune.example"
    comune.save()
    client.get("/privacy")
    comune.refresh_from_db()
    change = service.subscribe(comune, "+393316511333", source="whatsapp", evidence={})
    assert change.subscriber.consent_events.get().notice_version == "2"


def test_an_old_version_stays_readable_and_says_it_is_no_longer_in_force(client, comune):
    comune.dpo_contact = "rpd-vecchio@comune.example"
    comune.save()
    client.get("/privacy")
    comune.dpo_contact = "rpd-nuovo@comune.example"
    comune.save()

    current = client.get("/privacy").content.decode()
    assert "rpd-nuovo@comune.example" in current
    assert "no longer in force" not in current
    assert 'href="?versione=1"' in current

    old = client.get("/privacy?versione=1").content.decode()
    assert "rpd-vecchio@comune.example" in old and "rpd-nuovo" not in old
    assert "no longer in force" in old
    assert 'href="?versione=2"' in old
    # Kept as published, in Italian, the binding language; marked so for screen readers.
    assert '<div class="notice" lang="it">' in old
    assert PrivacyNotice.objects.get(version=1).sha256 in old


def test_an_unknown_version_is_not_found(client, comune):
    assert client.get("/privacy?versione=7").status_code == 404
    assert client.get("/privacy?versione=abc").status_code == 404


def test_versions_belong_to_their_comune(client, comune):
    from tests.factories import make_comune

    other = make_comune(slug="udine")
    client.get("/c/udine/privacy")
    other.dpo_contact = "rpd@udine.example"
    other.save()
    client.get("/c/udine/privacy")
    assert client.get("/c/pordenone/privacy?versione=2").status_code == 404
    assert comune.privacy_notices.count() == 1
