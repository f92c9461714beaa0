"""A dry run reports what the import would do and writes nothing."""

from banditore.core.models import AuditEvent
from banditore.subscribers.models import ConsentEvent, Subscriber


def counts():
    return (Subscriber.objects.count(), ConsentEvent.objects.count(), AuditEvent.objects.count())


def test_it_writes_nothing_on_a_dry_run(comune, run, data):
    before = counts()
    outcome = run("import", data / "messy.csv", "--dry-run", "--skip-invalid")
    assert outcome.error == ""
    assert counts() == before
    assert "to import: 10" in outcome.out
    assert "Line 10 (error): not a valid phone number: 12345" in outcome.out
    assert "Dry run: nothing was written." in outcome.out


def test_it_fails_a_dry_run_the_real_run_would_fail(comune, run, data):
    outcome = run("import", data / "messy.csv", "--dry-run")
    assert "Invalid rows: 4. The import would stop" in outcome.error
    assert "Dry run: nothing was written." in outcome.out
    assert Subscriber.objects.count() == 0


def test_it_passes_a_dry_run_of_a_clean_file(comune, run, data):
    outcome = run("import", data / "messy_cp1252.csv", "--dry-run")
    assert outcome.error == ""
    assert "to import: 3" in outcome.out
    assert Subscriber.objects.count() == 0
