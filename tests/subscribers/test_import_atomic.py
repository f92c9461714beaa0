"""A failure halfway through the write leaves nothing behind: one transaction."""

import pytest

from banditore.core.models import AuditEvent
from banditore.subscribers import importer, service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe, web_signup


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)


def test_it_leaves_nothing_when_a_batch_fails(comune, run, data, small_batches, monkeypatch):
    real, calls = importer.subscribe_new, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "subscribe_new", failing)
    with pytest.raises(RuntimeError):
        run("import", data / "messy.csv", "--skip-invalid")
    assert len(calls) == 3  # two batches were written before the failure
    assert Subscriber.objects.count() == 0
    assert ConsentEvent.objects.count() == 0
    assert not AuditEvent.objects.filter(action="subscribers.imported").exists()


def test_it_leaves_nothing_when_service_subscribe_fails(comune, run, tmp_path, monkeypatch):
    # Numbers the comune knows as pending go through service.subscribe.
    pending = ["+393331110001", "+393331110002", "+393331110003"]
    for phone in pending:
        web_signup(comune, phone)
    path = tmp_path / "lista.csv"
    path.write_text(
        "numero;data\n3339990001;01/01/2024\n" + "".join(f"{p};01/01/2024\n" for p in pending),
        encoding="utf-8",
    )
    real, calls = service.subscribe, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "subscribe", failing)
    with pytest.raises(RuntimeError):
        run("import", path)
    assert len(calls) == 3
    assert set(Subscriber.objects.values_list("status", flat=True)) == {"pending"}
    assert not Subscriber.objects.filter(phone="+393339990001").exists()
    assert not ConsentEvent.objects.filter(source="import").exists()


def test_it_says_so_when_someone_signs_up_during_the_import(comune, run, tmp_path, monkeypatch):
    subscribe(comune, "+393331110002")
    path = tmp_path / "lista.csv"
    path.write_text("numero;data\n3331110001;01/01/2024\n3331110002;01/01/2024\n")
    # As if +393331110002 had written ISCRIVIMI between the check and the write.
    monkeypatch.setattr(importer, "known_numbers", lambda org, phones: {})
    outcome = run("import", path)
    assert "signed up while importing: nothing was imported" in outcome.error
    assert list(Subscriber.objects.values_list("phone", flat=True)) == ["+393331110002"]
    assert ConsentEvent.objects.filter(source="import").count() == 0
