"""The console's subscriber pages: filters, consent history, erasure, import, export. A
number and its status are never edited here."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from banditore.console.models import PendingImport
from banditore.core.models import AuditEvent, Operator
from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber, Zone
from tests.console.helpers import member
from tests.factories import subscribe

R = Operator.Role
CLEAN_CSV = (
    "CELLULARE,Argomenti,Data,Origine\n"
    "3339135528,Viabilità,01/03/2024 09:30,Lista Excel dell'URP\n"
    "3405550102,Eventi,01/03/2024,Modulo cartaceo\n"
)
DIRTY_CSV = CLEAN_CSV + "12345,Eventi,01/03/2024,Modulo cartaceo\n"


def rows_of(page) -> list[str]:
    """The numbers the list shows."""
    return re.findall(r"\+39\d{9,10}", page.content.decode())


@pytest.fixture
def approver(comune):
    return member(comune, "approvatore", R.APPROVER)[0]


@pytest.fixture
def people(comune):
    centro = Zone.objects.create(organization=comune, slug="centro", name="Centro", position=0)
    old = subscribe(comune, "+393331000001", topics=["viabilita"])
    Subscriber.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    service.subscribe(
        comune,
        "+393331000002",
        source="import",
        evidence={"file": "x.csv"},
        zone=centro,
        topics=list(comune.topics.filter(slug="eventi")),
    )
    gone = subscribe(comune, "+393331000003", topics=["eventi"])
    service.unsubscribe(comune, gone.phone, source="operator", evidence={"test": True})
    return {"zone": centro}


def test_the_list_filters_each_way(comune, approver, people):
    get = lambda **q: sorted(rows_of(approver.get("/console/iscritti/", q)))  # noqa: E731
    assert get() == ["+393331000001", "+393331000002", "+393331000003"]
    assert get(number="000002") == ["+393331000002"]
    assert get(status="unsubscribed") == ["+393331000003"]
    topic = comune.topics.get(slug="viabilita")
    assert get(topic=topic.pk) == ["+393331000001"]
    assert get(zone=people["zone"].pk) == ["+393331000002"]
    assert get(source="import") == ["+393331000002"]
    cut = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert get(until=cut) == ["+393331000001"]
    assert get(since=cut) == ["+393331000002", "+393331000003"]


def test_pagination_keeps_the_filters(comune, approver, monkeypatch):
    monkeypatch.setattr("banditore.console.subscribers.PER_PAGE", 2)
    for n in range(5):
        subscribe(comune, f"+39333200000{n}")
    subscribe(comune, "+393339999999")
    first = approver.get("/console/iscritti/", {"number": "3332"}).content.decode()
    assert "page=2" in first
    link = re.search(r'href="\?([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "number=3332" in link
    second = approver.get(f"/console/iscritti/?{link}")
    assert "+393339999999" not in second.content.decode()
    assert len(rows_of(second)) == 2


def test_an_editor_sees_no_subscribers(comune):
    editor, _ = member(comune, "redattrice", R.EDITOR)
    assert editor.get("/console/iscritti/").status_code == 403
    assert editor.get("/console/iscritti/esporta.csv").status_code == 403


def test_the_detail_shows_the_consent_history(comune, approver, people):
    gone = Subscriber.objects.get(phone="+393331000003")
    page = approver.get(f"/console/iscritti/{gone.pk}/").content.decode()
    history = page.split('id="consent-history"', 1)[1]
    assert "subscribe" in history and "unsubscribe" in history


def test_erase_asks_first_then_erases(comune, approver):
    subscriber = subscribe(comune, "+393331000009")
    url = f"/console/iscritti/{subscriber.pk}/cancella/"
    asked = approver.get(url)
    assert 'id="erase-form"' in asked.content.decode()
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert approver.post(url).status_code == 302
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert not ConsentEvent.objects.filter(phone="+393331000009").exists()
    assert ConsentEvent.objects.filter(organization=comune, action="erase").count() == 1
    assert AuditEvent.objects.filter(organization=comune, action="subscriber.erased").exists()


def upload(client, text, name="lista.csv", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
    return client.post("/console/iscritti/importa/", {"file": file, **extra})


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def test_the_import_shows_its_dry_run_then_imports(comune, approver):
    shown = upload(approver, CLEAN_CSV)
    page = shown.content.decode()
    assert re.search(r'id="count-to-import">2<', page)
    assert re.search(r'id="count-invalid">0<', page)
    assert Subscriber.objects.count() == 0 and ConsentEvent.objects.count() == 0
    # The bytes wait in the database, so another web machine may take the confirmation.
    assert bytes(PendingImport.objects.get().content) == CLEAN_CSV.encode()

    done = approver.post("/console/iscritti/importa/conferma/", {"token": token_of(shown)})
    assert done.status_code == 302
    assert set(Subscriber.objects.values_list("phone", flat=True)) == {
        "+393339135528",
        "+393405550102",
    }
    assert ConsentEvent.objects.filter(source="import", action="subscribe").count() == 2
    assert ConsentEvent.objects.filter(source="import").first().evidence["file"] == "lista.csv"
    assert AuditEvent.objects.filter(action="subscribers.imported").count() == 1
    assert not PendingImport.objects.exists()


def test_invalid_rows_need_the_tick(comune, approver):
    shown = upload(approver, DIRTY_CSV)
    assert re.search(r'id="count-invalid">1<', shown.content.decode())
    token = token_of(shown)
    refused = approver.post("/console/iscritti/importa/conferma/", {"token": token})
    assert refused.status_code == 200 and "Invalid rows: 1" in refused.content.decode()
    assert Subscriber.objects.count() == 0
    url = "/console/iscritti/importa/conferma/"
    approver.post(url, {"token": token, "skip_invalid": "on"})
    assert Subscriber.objects.count() == 2


def test_one_operator_cannot_apply_anothers_upload(comune, approver):
    token = token_of(upload(approver, CLEAN_CSV))
    other, _ = member(comune, "altro", R.APPROVER)
    response = other.post("/console/iscritti/importa/conferma/", {"token": token})
    assert response.status_code == 302 and response.url == "/console/iscritti/importa/"
    assert Subscriber.objects.count() == 0
    assert PendingImport.objects.filter(token=token).exists()


def test_an_upload_older_than_a_day_expires_and_is_cleared(comune, approver):
    token = token_of(upload(approver, CLEAN_CSV))
    PendingImport.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = approver.post("/console/iscritti/importa/conferma/", {"token": token})
    assert response.status_code == 302 and Subscriber.objects.count() == 0
    upload(approver, CLEAN_CSV)
    assert list(PendingImport.objects.values_list("token", flat=True)) != [token]
    assert PendingImport.objects.count() == 1


def test_a_file_too_large_is_refused(comune, approver, monkeypatch):
    monkeypatch.setattr("banditore.console.subscribers.MAX_IMPORT_BYTES", 10)
    response = upload(approver, CLEAN_CSV)
    assert response.status_code == 200 and 'id="import-form"' in response.content.decode()
    assert not PendingImport.objects.exists()


def test_export_csv(comune, approver, people):
    response = approver.get("/console/iscritti/esporta.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "numero;stato;temi;zona;nome;iscritto_dal;cancellato_il"
    assert sorted(line.split(";")[0] for line in lines[1:]) == ["+393331000001", "+393331000002"]
    every = b"".join(approver.get("/console/iscritti/esporta.csv?status=all").streaming_content)
    assert "+393331000003" in every.decode("utf-8-sig")
    assert approver.get("/console/iscritti/esporta.csv?status=nope").status_code == 404
    exports = AuditEvent.objects.filter(action="subscribers.exported").order_by("id")
    assert [e.data["status"] for e in exports] == ["active", "all"]


def test_no_page_edits_a_number_or_a_status(comune, approver, people):
    subscriber = Subscriber.objects.get(phone="+393331000001")
    pages = [
        "/console/iscritti/",
        f"/console/iscritti/{subscriber.pk}/",
        f"/console/iscritti/{subscriber.pk}/cancella/",
        "/console/iscritti/importa/",
    ]
    for url in pages:
        html = approver.get(url).content.decode()
        for form in re.findall(r'<form[^>]*method="post".*?</form>', html, re.S | re.I):
            assert not re.search(r'name="(status|phone)"', form), url
