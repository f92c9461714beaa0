"""Erasure from the command line (art. 17): asked for, confirmed, done."""

from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe

PHONE = "+393331110001"


def test_it_erases_with_yes(comune, run):
    subscribe(comune, PHONE)
    outcome = run("erase", "333 111 0001", "--yes")
    assert f"{PHONE} erased." in outcome.out
    assert not Subscriber.objects.exists()
    assert not ConsentEvent.objects.filter(phone=PHONE).exists()
    assert ConsentEvent.objects.filter(action="erase", evidence={"by": "cli"}).exists()


def test_it_asks_first(comune, run, monkeypatch):
    subscribe(comune, PHONE)
    monkeypatch.setattr("builtins.input", lambda: "no")
    outcome = run("erase", PHONE)
    assert f"Erase {PHONE}?" in outcome.out
    assert "Cancelled: nothing was erased." in outcome.out
    assert Subscriber.objects.exists()
    monkeypatch.setattr("builtins.input", lambda: "Sì")
    run("erase", PHONE)
    assert not Subscriber.objects.exists()


def test_it_does_nothing_without_an_answer(comune, run, monkeypatch):
    subscribe(comune, PHONE)

    def closed():
        raise EOFError

    monkeypatch.setattr("builtins.input", closed)
    assert "Cancelled" in run("erase", PHONE).out
    assert Subscriber.objects.exists()


def test_it_says_when_the_number_is_unknown_or_already_erased(comune, run):
    assert f"{PHONE} is not known to this comune." in run("erase", PHONE, "--yes").error
    subscribe(comune, PHONE)
    run("erase", PHONE, "--yes")
    assert f"{PHONE} was already erased." in run("erase", PHONE, "--yes").error
