"""A failure halfway through the write keeps the batches written (each row a true record,
with its consent event), says how far it got, and the same file imported again adds the
rest, each number once."""

import pytest

from banditore.core.models import AuditEvent
from banditore.subscribers import importer, service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe, web_signup


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)


def fail_on_call(monkeypatch, owner, name: str, n: int) -> list:
    real, calls = getattr(owner, name), []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return calls


def test_a_failed_batch_keeps_the_earlier_ones_and_a_rerun_adds_the_rest(
    comune, run, data, small_batches, monkeypatch
):
    calls = fail_on_call(monkeypatch, importer, "subscribe_new", 3)
    outcome = run("import", data / "messy.csv", "--skip-invalid")
    assert len(calls) == 3
    assert "The import stopped (disk full) after 4 subscribers" in outcome.error
    assert "Import the same file again" in outcome.error
    assert Subscriber.objects.count() == ConsentEvent.objects.count() == 4
    stopped = AuditEvent.objects.get(action="subscribers.import_interrupted")
    assert stopped.data["imported"] == 4
    assert not AuditEvent.objects.filter(action="subscribers.imported").exists()

    monkeypatch.undo()
    monkeypatch.setattr(importer, "BATCH", 2)
    before = set(Subscriber.objects.values_list("phone", flat=True))
    assert run("import", data / "messy.csv", "--skip-invalid").error == ""
    phones = list(Subscriber.objects.values_list("phone", flat=True))
    assert len(phones) == len(set(phones)) > len(before)
    assert set(phones) >= before
    # One import consent event per number: the rerun skipped the four already in.
    events = list(ConsentEvent.objects.filter(source="import").values_list("phone", flat=True))
    assert sorted(events) == sorted(phones)
    done = AuditEvent.objects.get(action="subscribers.imported")
    assert done.data["imported"] == len(phones) - 4


def test_a_failure_in_service_subscribe_keeps_what_was_written(comune, run, tmp_path, monkeypatch):
    # Numbers the comune knows as pending go through service.subscribe.
    pending = ["+393331110001", "+393331110002", "+393331110003"]
    for phone in pending:
        web_signup(comune, phone)
    path = tmp_path / "lista.csv"
    path.write_text(
        "numero;data\n3339990001;01/01/2024\n" + "".join(f"{p};01/01/2024\n" for p in pending),
        encoding="utf-8",
    )
    monkeypatch.setattr(importer, "BATCH", 2)
    calls = fail_on_call(monkeypatch, service, "subscribe", 2)
    outcome = run("import", path)
    assert len(calls) == 2
    assert "after 2 subscribers" in outcome.error
    # The first batch (a new number and the first pending one) is in; the rest waits.
    statuses = dict(Subscriber.objects.values_list("phone", "status"))
    assert statuses == {
        "+393339990001": "active",
        "+393331110001": "active",
        "+393331110002": "pending",
        "+393331110003": "pending",
    }


def test_it_says_so_when_someone_signs_up_during_the_import(comune, run, tmp_path, monkeypatch):
    subscribe(comune, "+393331110002")
    path = tmp_path / "lista.csv"
    path.write_text("numero;data\n3331110001;01/01/2024\n3331110002;01/01/2024\n")
    # As if +393331110002 had written ISCRIVIMI between the check and the write.
    monkeypatch.setattr(importer, "known_numbers", lambda org, phones: {})
    outcome = run("import", path)
    assert "a number in the file signed up on its own meanwhile" in outcome.error
    assert "after 0 subscribers" in outcome.error
    assert list(Subscriber.objects.values_list("phone", flat=True)) == ["+393331110002"]
    assert ConsentEvent.objects.filter(source="import").count() == 0
