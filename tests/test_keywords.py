import pytest

from banditore.subscribers.keywords import DEFAULT_KEYWORDS, Command, normalize


@pytest.mark.parametrize(
    "text",
    [
        "ISCRIVIMI",
        "iscrivimi",
        "iscrivimi!",
        " Iscrivimi per favore",
        "Iscrivimi 🙂",
        "ÌSCRIVIMI",
        "*Iscrivimi*",
        "Mi iscrivo",
        "ATTIVA ISCRIZIONE",
        "iscrizione on",
        "Ciao, iscrivimi",
        "Buongiorno! Iscrivimi grazie",
        "start",
        "SUBSCRIBE",
    ],
)
def test_it_reads_sign_up_however_it_is_typed(text):
    parsed = DEFAULT_KEYWORDS.parse(text)
    assert parsed is not None and parsed.command == Command.SUBSCRIBE


@pytest.mark.parametrize(
    "text",
    [
        "CANCELLAMI",
        "CANCELLAMI.",
        "cancellami per favore",
        "stop",
        "STOP!!!",
        "Stop VanzApp",
        "basta",
        "disiscrivimi",
        "Disattiva iscrizione",
        "iscrizione off",
        "cancella iscrizione",
        "unsubscribe",
    ],
)
def test_it_reads_opt_out_however_it_is_typed(text):
    parsed = DEFAULT_KEYWORDS.parse(text)
    assert parsed is not None and parsed.command == Command.UNSUBSCRIBE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Buongiorno, a che ora apre l'anagrafe?",
        "non riesco a iscrivermi",
        "ciao",
        "fermata autobus",
        "stoppare",
        "scrivimi",
        "il cancello è rotto",
    ],
)
def test_it_leaves_other_messages_alone(text):
    assert DEFAULT_KEYWORDS.parse(text) is None


def test_it_keeps_the_words_after_the_keyword():
    parsed = DEFAULT_KEYWORDS.parse("Iscrivimi Postioma")
    assert parsed.command == Command.SUBSCRIBE
    assert parsed.rest == "postioma"


def test_it_prefers_the_longest_keyword():
    assert DEFAULT_KEYWORDS.parse("ISCRIZIONE OFF").command == Command.UNSUBSCRIBE
    assert DEFAULT_KEYWORDS.parse("ISCRIZIONE").command == Command.SUBSCRIBE


def test_normalize_strips_accents_case_and_punctuation():
    assert normalize("  Sì, VIABILITÀ!! ") == "si viabilita"
