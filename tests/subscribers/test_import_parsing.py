"""Reading what people and Excel actually write: numbers, dates, topics, headers, encodings."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from banditore.core.phone import InvalidNumber
from banditore.subscribers import importer
from banditore.subscribers.importer import parse_date, parse_number
from banditore.subscribers.models import Subscriber, Topic

ROME = ZoneInfo("Europe/Rome")


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("333.9135528", "+393339135528"),
        ("331 651 1331", "+393316511331"),
        ("+39 333 123 4567", "+393331234567"),
        ("0039 333 123 4567", "+393331234567"),
        ("  333-123-4567 ", "+393331234567"),
        ("(333) 1234567", "+393331234567"),
        ("333\u00a0123\u00a04567", "+393331234567"),
        ("'3331234567", "+393331234567"),  # Excel's text marker
        ("393331234567", "+393331234567"),  # 12 digits starting 39: the + was lost
        ("393331234567.0", "+393331234567"),  # a column Excel turned into numbers
        ("3931234567", "+393931234567"),  # 10 digits starting 39: an Italian mobile
        ("0432 123456", "+390432123456"),
        ("+44 7911 123456", "+447911123456"),
    ],
)
def test_it_reads_every_way_of_writing_a_number(raw, e164):
    assert parse_number(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "abc", "3.93331E+11", "", "+39 333"])
def test_it_rejects_what_is_not_a_number(raw):
    with pytest.raises(InvalidNumber):
        parse_number(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=ROME)),
        ("01/03/2024", datetime(2024, 3, 1, tzinfo=ROME)),
        ("1/3/24", datetime(2024, 3, 1, tzinfo=ROME)),
        ("01-03-2024 10:15", datetime(2024, 3, 1, 10, 15, tzinfo=ROME)),
        ("01.03.2024", datetime(2024, 3, 1, tzinfo=ROME)),
        ("1/3/2024, ore 9.30", datetime(2024, 3, 1, 9, 30, tzinfo=ROME)),
        ("2024-07-01 10:15:30", datetime(2024, 7, 1, 10, 15, 30, tzinfo=ROME)),
        ("2024-03-01T09:15:00Z", datetime(2024, 3, 1, 10, 15, tzinfo=ROME)),
        ("2024-03-01T10:15:00+01:00", datetime(2024, 3, 1, 10, 15, tzinfo=ROME)),
    ],
)
def test_it_reads_dates_day_first_in_rome_time(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2024", "03/25/2024", "2024-13-01", "ieri", "45352", ""])
def test_it_rejects_what_is_not_a_date(raw):
    with pytest.raises(ValueError):
        parse_date(raw)


@pytest.mark.parametrize(
    "header, delimiter",
    [
        ("numero;temi;data", ";"),
        ("numero,temi,data", ","),
        ("numero\ttemi\tdata", "\t"),
        ("numero", ","),
    ],
)
def test_it_takes_the_delimiter_from_the_header_line(header, delimiter):
    assert importer.sniff_delimiter(header) == delimiter


@pytest.mark.parametrize(
    "title, role",
    [
        ("Numero di Telefono", "number"),
        ("CELLULARE", "number"),
        ("cell.", "number"),
        ("Phone", "number"),
        ("N° telefono", "number"),
        ("Temi", "topics"),
        ("ARGOMENTI", "topics"),
        ("Data Consenso", "date"),
        ("data_consenso", "date"),
        ("Consent date", "date"),
        ("iscritto_dal", "date"),
        ("Fonte", "source"),
        ("Origine", "source"),
        ("Località", "zone"),
    ],
)
def test_it_knows_header_names_in_italian_and_english(title, role):
    assert importer.ROLE_OF[importer.normalize(title)] == role


@pytest.mark.parametrize("title", ["data di nascita", "numero civico", "note"])
def test_it_never_guesses_a_column(title):
    assert importer.normalize(title) not in importer.ROLE_OF


def topics():
    return importer.Matcher(
        [
            Topic(name="Viabilità", slug="viabilita"),
            Topic(name="Protezione civile", slug="protezione-civile"),
            Topic(name="Scuola/Istruzione", slug="scuola"),
            Topic(name="Eventi", slug="eventi"),
        ]
    )


@pytest.mark.parametrize(
    "cell, slugs",
    [
        ("Viabilità", ["viabilita"]),
        ("viabilita", ["viabilita"]),
        ("VIABILITA'", ["viabilita"]),
        ("protezione-civile", ["protezione-civile"]),
        ("PROTEZIONE CIVILE", ["protezione-civile"]),
        ("protezionecivile", ["protezione-civile"]),
        ("Viabilità|Eventi", ["viabilita", "eventi"]),
        ("viabilita; eventi", ["viabilita", "eventi"]),
        ("viabilita, eventi, viabilita", ["viabilita", "eventi"]),
        ("Viabilità / Eventi", ["viabilita", "eventi"]),
        ("Scuola/Istruzione", ["scuola"]),
        ("Scuola/Istruzione|Eventi", ["scuola", "eventi"]),
    ],
)
def test_it_matches_topics_by_name_or_keyword(cell, slugs):
    found, unknown = topics().many(cell)
    assert [t.slug for t in found] == slugs
    assert unknown == []


def test_it_reports_unknown_topics_and_reads_tutti_as_all():
    found, unknown = topics().many("Eventi|Sport|Cultura")
    assert [t.slug for t in found] == ["eventi"]
    assert unknown == ["Sport", "Cultura"]
    assert topics().many("Tutti") == (None, [])


@pytest.mark.parametrize(
    "content, encoding",
    [
        ("\ufeffnumero;temi\n3331110001;Viabilità\n".encode(), "utf-8-sig"),
        ("numero;temi\n3331110001;Viabilità\n".encode(), "utf-8"),
        ("numero;temi\r\n3331110001;Viabilità\r\n".encode("cp1252"), "cp1252"),
        (b"numero;temi\n3331110001;Viabilit\xe0 \x81\n", "latin-1"),
    ],
)
def test_it_finds_the_encoding(tmp_path, content, encoding):
    path = tmp_path / "lista.csv"
    path.write_bytes(content)
    assert importer.inspect_file(path).encoding == encoding


def test_it_reads_a_tab_separated_file(comune, tmp_path):
    path = tmp_path / "lista.tsv"
    path.write_text(
        "\n\nTelefono\tTemi\tData\n333 111 0001\tviabilita, eventi\t1/3/24\n", encoding="utf-8"
    )
    plan = importer.plan_import(comune, path)
    assert plan.delimiter == "\t"
    assert [(r.line, r.phone) for r in plan.rows] == [(4, "+393331110001")]
    assert plan.problems == []


def test_it_reads_a_bare_list_of_numbers(comune, tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text("333 111 0001\n333 111 0002\n\n12\n", encoding="utf-8")
    plan = importer.plan_import(comune, path, default_date="2024-03-01")
    assert [(r.line, r.phone) for r in plan.rows] == [(1, "+393331110001"), (2, "+393331110002")]
    assert [(p.line, p.code) for p in plan.problems] == [(4, "invalid_number")]
    assert not Subscriber.objects.exists()


def test_it_follows_excels_sep_line(comune, tmp_path):
    path = tmp_path / "lista.csv"
    # Without the sep line, the commas would win.
    path.write_text("sep=;\nnumero;note, varie, altro\n3331110001;a, b, c\n", encoding="utf-8")
    plan = importer.plan_import(comune, path, default_date="2024-03-01")
    assert plan.delimiter == ";"
    assert plan.ignored_columns == ["note, varie, altro"]
    assert [(r.line, r.phone) for r in plan.rows] == [(3, "+393331110001")]
