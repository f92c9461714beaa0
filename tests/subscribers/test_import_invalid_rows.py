"""Invalid rows stop the whole import unless --skip-invalid; files that can't be read at
all are refused with a clear message."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from banditore.core.models import AuditEvent
from banditore.subscribers.models import ConsentEvent, Subscriber

ROME = ZoneInfo("Europe/Rome")


def write(tmp_path, text: str, name: str = "lista.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_it_writes_nothing_when_a_row_is_invalid(comune, run, data):
    outcome = run("import", data / "messy.csv")
    assert "Invalid rows: 4. Nothing was imported" in outcome.error
    assert "Line 11 (error): no consent date" in outcome.out
    assert Subscriber.objects.count() == 0
    assert ConsentEvent.objects.count() == 0
    assert not AuditEvent.objects.filter(action="subscribers.imported").exists()


def test_it_imports_the_valid_rows_with_skip_invalid(comune, run, data):
    outcome = run("import", data / "messy.csv", "--skip-invalid")
    assert outcome.error == ""
    assert Subscriber.objects.filter(status="active").count() == 10
    audit = AuditEvent.objects.get(action="subscribers.imported")
    assert audit.data["invalid_lines"] == [10, 11, 12, 15]


def test_it_takes_missing_dates_and_sources_from_the_options(comune, run, tmp_path):
    path = write(
        tmp_path,
        "telefono,data,fonte\n3331110001,,\n3331110002,02/02/2022,modulo URP\n",
    )
    outcome = run(
        "import", path, "--consent-date", "2021-05-01", "--consent-source", "lista cartacea"
    )
    assert outcome.error == ""
    first, second = (
        ConsentEvent.objects.get(phone="+393331110001"),
        ConsentEvent.objects.get(phone="+393331110002"),
    )
    assert first.occurred_at == datetime(2021, 5, 1, tzinfo=ROME)
    assert first.evidence["consent_source"] == "lista cartacea"
    assert first.evidence["consent_date"] == "2021-05-01"
    assert second.occurred_at == datetime(2022, 2, 2, tzinfo=ROME)
    assert second.evidence["consent_source"] == "modulo URP"


def test_it_refuses_a_consent_date_in_the_future(comune, run, tmp_path):
    tomorrow = (timezone.localdate() + timedelta(days=1)).strftime("%d/%m/%Y")
    outcome = run("import", write(tmp_path, f"numero;data\n3331110001;{tomorrow}\n"))
    assert f"Line 2 (error): consent date in the future: {tomorrow}" in outcome.out
    assert outcome.error
    assert Subscriber.objects.count() == 0


def test_it_refuses_a_bad_consent_date_option(comune, run, tmp_path):
    path = write(tmp_path, "numero\n3331110001\n")
    outcome = run("import", path, "--consent-date", "ieri")
    assert "--consent-date not understood: ieri" in outcome.error


def test_it_refuses_a_file_without_a_number_column(comune, run, tmp_path):
    outcome = run("import", write(tmp_path, "nome;data\nMario;01/01/2024\n"))
    assert "No column with the phone numbers" in outcome.error
    assert "found: nome, data" in outcome.error


def test_it_refuses_two_number_columns(comune, run, tmp_path):
    outcome = run("import", write(tmp_path, "telefono;cellulare\n3331110001;3331110002\n"))
    assert "Columns telefono and cellulare both look like the phone number" in outcome.error


def test_it_refuses_a_missing_or_empty_file(comune, run, tmp_path):
    assert "Can't read" in run("import", tmp_path / "nope.csv").error
    assert "The file is empty." in run("import", write(tmp_path, "\n\n")).error


def test_it_says_when_every_number_is_already_in(comune, run, tmp_path):
    path = write(tmp_path, "numero;data\n3331110001;01/01/2024\n")
    run("import", path)
    outcome = run("import", path)
    assert outcome.error == ""
    assert "Nothing to import." in outcome.out
    assert AuditEvent.objects.filter(action="subscribers.imported").count() == 1


def test_it_refuses_a_consent_date_option_in_the_future(comune, run, tmp_path):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    outcome = run("import", write(tmp_path, "numero\n3331110001\n"), "--consent-date", tomorrow)
    assert f"--consent-date is in the future: {tomorrow}" in outcome.error


def test_it_refuses_a_file_csv_cannot_read(comune, run, tmp_path):
    path = tmp_path / "lista.csv"
    # A quote left open swallows the rest of the file into one cell, past csv's limit.
    path.write_text('numero;data\n3331110001;01/01/2024\n3331110002;"01/01' + "x" * 200_000)
    assert "Line 3 can't be read: field larger than field limit" in run("import", path).error
    assert not Subscriber.objects.exists()
