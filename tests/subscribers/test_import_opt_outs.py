"""An old list never brings back someone who said no; an unconfirmed sign-up never said no."""

from datetime import timedelta

from django.utils import timezone

from banditore.subscribers import importer, privacy, service
from banditore.subscribers.models import Subscriber
from tests.factories import subscribe, web_signup


def test_it_knows_who_left_and_who_is_in(comune):
    subscribe(comune, "+393331110001")
    subscribe(comune, "+393331110002")
    service.unsubscribe(comune, "+393331110002", source="whatsapp", evidence={})
    subscribe(comune, "+393331110003")
    service.unsubscribe(comune, "+393331110003", source="whatsapp", evidence={})
    privacy.erase(comune, "+393331110003", actor_label="system")  # the 30-day purge
    subscribe(comune, "+393331110004")
    privacy.erase(comune, "+393331110004", actor_label="cli")  # an art. 17 request
    known = importer.known_numbers(comune, [f"+39333111000{n}" for n in range(1, 6)])
    assert {phone: code for phone, (code, _when) in known.items()} == {
        "+393331110001": "already_active",
        "+393331110002": "opted_out",
        "+393331110003": "opted_out",
        "+393331110004": "opted_out",
    }


def test_an_expired_unconfirmed_signup_may_come_in(comune, run, tmp_path):
    web_signup(comune, "+393331110001")
    Subscriber.objects.update(created_at=timezone.now() - timedelta(days=30))
    privacy.purge_expired()
    assert not Subscriber.objects.exists()
    path = tmp_path / "lista.csv"
    path.write_text("numero;data\n3331110001;01/03/2024\n", encoding="utf-8")
    assert "Subscribers imported: 1" in run("import", path).out


def test_another_comunes_opt_out_does_not_count(comune, run, tmp_path):
    from tests.factories import make_comune

    other = make_comune(slug="trevi")
    subscribe(other, "+393331110001")
    service.unsubscribe(other, "+393331110001", source="whatsapp", evidence={})
    path = tmp_path / "lista.csv"
    path.write_text("numero;data\n3331110001;01/03/2024\n", encoding="utf-8")
    assert "Subscribers imported: 1" in run("import", path, "--org", "pordenone").out


def test_rows_not_active_in_the_file_are_skipped(comune, run, tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text(
        "numero;stato;iscritto_dal\n"
        "+393331110001;active;2024-03-01 10:00:00\n"
        "+393331110002;unsubscribed;2024-03-01 10:00:00\n",
        encoding="utf-8",
    )
    outcome = run("import", path)
    assert "Line 3 (skipped): +393331110002 has status unsubscribed in the file" in outcome.out
    assert list(Subscriber.objects.values_list("phone", flat=True)) == ["+393331110001"]
