"""What citizens really write, read as the intent they meant (issue 10, item 1).

Each row: the message, the intent expected (None: not a command, the pointer answers),
and the `rest` handed to chat.py (topics, zone or code, normalised, fillers off).
"""

import pytest

from banditore.subscribers.keywords import DEFAULT_KEYWORDS, Command, Keywords, for_organization

S, U, N, T, D, A = (
    Command.SUBSCRIBE,
    Command.UNSUBSCRIBE,
    Command.INFO,
    Command.TOPICS,
    Command.MY_DATA,
    Command.AMBIGUOUS,
)

SIGN_UP = [
    ("ISCRIVIMI", S, ""),
    ("iscrivimi", S, ""),
    ("Iscrivimi!", S, ""),
    ("iscrivimi 🙂", S, ""),
    ("*Iscrivimi*", S, ""),
    ("ÌSCRIVIMI", S, ""),
    ("Vorrei iscrivermi", S, ""),
    ("vorrei iscrivermi.", S, ""),
    ("Voglio iscrivermi", S, ""),
    ("Posso iscrivermi?", S, ""),
    ("Iscriviti", S, ""),
    ("iscrivetemi per favore", S, ""),
    ("Iscrivetemi grazie mille", S, ""),
    ("Mi iscrivo", S, ""),
    ("mi iscrivo anch'io", S, "anch io"),
    ("Attiva", S, ""),
    ("ATTIVA ISCRIZIONE", S, ""),
    ("attiva il servizio", S, ""),
    ("Attivami", S, ""),
    ("attivatemi il servizio grazie", S, ""),
    ("Aderisco", S, ""),
    ("aderisco al servizio", S, ""),
    ("Vorrei aderire al servizio whatsapp del comune", S, "comune"),
    ("Adesione", S, ""),
    ("Iscrizione", S, ""),
    ("iscrizione on", S, ""),
    ("start", S, ""),
    ("START", S, ""),
    ("SUBSCRIBE", S, ""),
    ("join", S, ""),
    ("Buongiorno, vorrei iscrivermi al servizio grazie", S, ""),
    ("Buongiorno! Iscrivimi grazie", S, ""),
    ("Ciao, iscrivimi", S, ""),
    ("Salve vorrei iscrivermi alle notifiche del comune", S, "comune"),
    ("Buonasera, desidero iscrivermi. Grazie", S, ""),
    ("Si iscrivimi", S, ""),
    ("ok iscrivimi", S, ""),
    ("Vorrei ricevere le notizie del comune", S, "comune"),
    ("voglio ricevere i messaggi", S, ""),
    ("Desidero ricevere gli aggiornamenti", S, ""),
    ("vorrei l'iscrizione", S, ""),
    ("Chiedo l'iscrizione al servizio", S, ""),
    ("richiesta iscrizione", S, ""),
    ("richiesta di iscrizione", S, ""),
    ("Mi potete iscrivere?", S, ""),
    ("mi vorrei iscrivere a eventi", S, "eventi"),
    ("mi potete cancellare?", U, ""),
    ("non mi potete iscrivere", None, ""),
    ("iscrivi", S, ""),
    ("ISCRIVIMI!!!", S, ""),
    ("Iscrivimi, grazie 🙏", S, ""),
    ("iscrivimi per piacere", S, ""),
    ("iscrivimi pls", S, "pls"),
    ("gentilmente iscrivetemi", S, ""),
    ("Hello, subscribe", S, ""),
    ("sign me up", S, ""),
]

TOPICS_AND_ZONES = [
    ("iscrivimi a viabilità e eventi", S, "viabilita e eventi"),
    ("Iscrivimi viabilità", S, "viabilita"),
    ("ISCRIVIMI protezione civile, farmacie", S, "protezione civile farmacie"),
    ("iscrivimi ai temi viabilità ed eventi", S, "viabilita ed eventi"),
    ("Iscrivimi: eventi", S, "eventi"),
    ("iscrivimi al tema protezione civile", S, "protezione civile"),
    ("Vorrei iscrivermi per la viabilità", S, "viabilita"),
    ("Iscrivimi Borgo", S, "borgo"),
    ("Iscrivimi Postioma", S, "postioma"),
    ("iscrivimi zona Postioma", S, "postioma"),
    ("iscrivimi frazione di Postioma", S, "postioma"),
    ("ISCRIVIMI ABC123", S, "abc123"),
    ("iscrivimi abc123", S, "abc123"),
    ("Iscrivimi 1 3", S, "1 3"),
    ("iscrivimi a eventi, viabilità. Grazie", S, "eventi viabilita"),
    ("Buongiorno, iscrivimi a viabilità. Abito in centro", S, "viabilita"),
    ("mi iscrivo a eventi", S, "eventi"),
    ("attivami viabilità", S, "viabilita"),
    ("Vorrei iscrivermi alle notizie su eventi", S, "eventi"),
    ("iscrivimi solo eventi", S, "eventi"),
    ("iscrivimi a tutti", S, "tutti"),
    ("ISCRIVIMI VIABILITA EVENTI", S, "viabilita eventi"),
    ("iscrivimi a viabilità grazie mille", S, "viabilita"),
    ("iscrivimi a viabilità per favore", S, "viabilita"),
]

OPT_OUT = [
    ("CANCELLAMI", U, ""),
    ("cancellami", U, ""),
    ("Cancellami.", U, ""),
    ("cancellami per favore", U, ""),
    ("Cancellatemi", U, ""),
    ("Vorrei cancellarmi", U, ""),
    ("voglio cancellarmi dal servizio", U, "dal servizio"),
    ("Disiscrivimi", U, ""),
    ("disiscrivetemi grazie", U, ""),
    ("vorrei disiscrivermi", U, ""),
    ("non voglio più ricevere messaggi", U, ""),
    ("Non voglio piu ricevere messaggi", U, ""),
    ("NON VOGLIO PIÙ RICEVERE NOTIZIE", U, ""),
    ("non voglio ricevere messaggi", U, ""),
    ("Buongiorno, non voglio più ricevere i vostri messaggi", U, ""),
    ("non voglio più essere iscritto", U, ""),
    ("non mandatemi più messaggi", U, ""),
    ("non scrivetemi più", U, ""),
    ("Non mi interessa più, grazie", U, ""),
    ("Toglimi", U, ""),
    ("toglietemi dalla lista", U, "dalla lista"),
    ("Rimuovimi", U, ""),
    ("rimuovetemi per favore", U, ""),
    ("eliminami", U, ""),
    ("Disattiva", U, ""),
    ("disattivami", U, ""),
    ("Disattiva iscrizione", U, ""),
    ("iscrizione off", U, ""),
    ("ISCRIZIONE OFF", U, ""),
    ("cancella iscrizione", U, ""),
    ("Cancella l'iscrizione", U, ""),
    ("annulla iscrizione", U, ""),
    ("vorrei la cancellazione", U, ""),
    ("chiedo la disattivazione", U, ""),
    ("Cancellazione", U, ""),
    ("stop", U, ""),
    ("STOP", U, ""),
    ("STOP!!!", U, ""),
    ("Stop.", U, ""),
    ("Per favore STOP", U, ""),
    ("per favore stop", U, ""),
    ("Ciao, stop", U, ""),
    ("basta", U, ""),
    ("Basta!", U, ""),
    ("ok basta grazie", U, ""),
    ("unsubscribe", U, ""),
    ("Stop VanzApp", U, "vanzapp"),
    ("mi cancello", U, ""),
    ("vorrei non ricevere più messaggi", U, ""),
]

TYPOS = [
    ("iscrivimmi", S, ""),
    ("iscirvimi", S, ""),
    ("iscivimi", S, ""),
    ("iscrivini", S, ""),
    ("iscrivimia", S, ""),
    ("iscriviimi", S, ""),
    ("iscrivrmi", S, ""),
    ("iscrivwrmi", S, ""),
    ("ISCRIVIMII", S, ""),
    ("cancelami", U, ""),
    ("cancellmi", U, ""),
    ("canclelami", U, ""),
    ("cancellsmi", U, ""),
    ("cancellarmii", U, ""),
    ("disiscrivmi", U, ""),
    ("disattiav", U, ""),
    ("bastaaaa", U, ""),
    ("cancellllami", U, ""),
    ("vorrei iscrivemi", S, ""),
    ("attivamo", S, ""),
]

NOT_A_REQUEST = [
    ("", None, ""),
    ("   ", None, ""),
    ("🙂", None, ""),
    ("ciao", None, ""),
    ("Buongiorno, a che ora apre l'anagrafe?", None, ""),
    ("fermata autobus", None, ""),
    ("stoppare", None, ""),
    ("scrivimi", None, ""),
    ("il cancello del cimitero è rotto", None, ""),
    ("la festa è cancellata?", None, ""),
    ("è attiva la ZTL?", None, ""),
    ("la farmacia è attiva oggi?", None, ""),
    ("ne basta uno", None, ""),
    ("i semafori sono attivi?", None, ""),
    ("le iscrizioni alla mensa sono aperte?", None, ""),
    ("quando apre la piscina", None, ""),
    ("non iscrivermi", None, ""),
    ("non cancellarmi", None, ""),
    ("non voglio iscrivermi", None, ""),
    ("Non mi iscrivo", None, ""),
    ("non riesco a iscrivermi", None, ""),
    ("non voglio cancellarmi, grazie", None, ""),
    ("non disattivarmi", None, ""),
    ("NON cancellatemi", None, ""),
    ("il mio iscritto", None, ""),
    ("grazie", None, ""),
    ("ok", None, ""),
    ("sono iscritto?", None, ""),
    ("la scuola ha cancellato la gita", None, ""),
    ("disattivato il semaforo in via Roma", None, ""),
    ("Basta con questi lavori in via Roma!", None, ""),
    ("Stop ai parcheggi selvaggi", None, ""),
    ("Start della maratona a che ora?", None, ""),
    ("Attivate la fontana?", None, ""),
    ("Vorrei cancellare una prenotazione", None, ""),
    ("Come faccio a togliere la multa?", None, ""),
    ("non ricevo più i messaggi, perché?", None, ""),
    ("Voglio ricevere la tessera elettorale", None, ""),
    ("Vorrei ricevere informazioni sulla TARI", None, ""),
    ("Iscrizioni aperte per il centro estivo?", None, ""),
    ("Per l'iscrizione alla scuola materna cosa serve?", None, ""),
    ("Buongiorno, come posso iscrivere mio figlio alla mensa?", None, ""),
    ("Ho cancellato per sbaglio il messaggio, potete rimandarlo?", None, ""),
    ("la cancellazione della manifestazione è confermata?", None, ""),
    ("Iscrizione?", S, ""),
    ("stop grazie", U, ""),
    ("basta messaggi", U, ""),
    ("Iscrizione Postioma viabilità", S, "postioma viabilita"),
]

QUESTIONS = [
    ("come mi iscrivo?", N, ""),
    ("Come faccio a iscrivermi?", N, ""),
    ("come posso iscrivermi", N, ""),
    ("come ci si iscrive?", N, ""),
    ("è possibile iscriversi?", N, ""),
    ("come faccio a cancellarmi?", N, ""),
    ("come ci si cancella", N, ""),
    ("info", N, ""),
    ("INFO", N, ""),
    ("informazioni", N, ""),
    ("aiuto", N, ""),
    ("Aiuto!", N, ""),
    ("help", N, ""),
    ("comandi", N, ""),
    ("ciao, info", N, ""),
    ("Orari biblioteca? INFO", N, ""),
    ("i miei dati", D, ""),
    ("I MIEI DATI", D, ""),
    ("quali dati avete su di me?", D, ""),
    ("my data", D, ""),
]

TOPIC_CHOICES = [
    ("TEMI", T, ""),
    ("temi", T, ""),
    ("Temi?", T, ""),
    ("TEMI 1 3", T, "1 3"),
    ("temi viabilità, protezione civile", T, "viabilita protezione civile"),
    ("Temi: viabilità, eventi", T, "viabilita eventi"),
    ("Temi tutti", T, "tutti"),
    ("argomenti", T, ""),
    ("tema 2", T, "2"),
    ("quali temi ci sono?", T, ""),
    ("Che temi avete?", T, ""),
    ("vorrei cambiare temi", T, ""),
    ("cambia temi viabilità", T, "viabilita"),
    ("+VIABILITA -EVENTI", T, "+VIABILITA -EVENTI"),
    ("+viabilità, -eventi", T, "+viabilità, -eventi"),
    ("TEMI +viabilita -eventi", T, "+viabilita -eventi"),
    ("Ciao! temi 2", T, "2"),
    ("topics", T, ""),
    ("iscrivimi ai temi", S, ""),
]

CONFLICTS = [
    ("iscrivimi... anzi cancellami", A, ""),
    ("non so se iscrivermi o cancellarmi", A, ""),
    ("iscrivimi o cancellami?", A, ""),
    ("Cancellami. Anzi no, iscrivimi", A, ""),
    ("vorrei iscrivermi, ma anche cancellarmi", A, ""),
    ("stop, iscrivimi", A, ""),
    # One intent left after the negation: it decides.
    ("non iscrivermi, cancellami", U, ""),
    ("non cancellarmi, iscrivimi a eventi", S, "eventi"),
    ("non voglio cancellarmi, voglio iscrivermi", S, ""),
    # A sign-up with its topics outranks the TOPICS/INFO words around it.
    ("info: iscrivimi a eventi", S, "eventi"),
    ("temi: iscrivimi a viabilità", S, "viabilita"),
    ("iscrivimi iscrivimi", S, ""),
]

ROWS = SIGN_UP + TOPICS_AND_ZONES + OPT_OUT + TYPOS + NOT_A_REQUEST + QUESTIONS + TOPIC_CHOICES
ROWS += CONFLICTS


def test_there_are_enough_real_world_phrasings():
    assert len({text for text, _, _ in ROWS}) >= 150


@pytest.mark.parametrize(("text", "command", "rest"), ROWS, ids=[r[0] or "empty" for r in ROWS])
def test_a_phrasing_reads_as_its_intent(text, command, rest):
    parsed = DEFAULT_KEYWORDS.parse(text)
    if command is None:
        assert parsed is None, parsed
        return
    assert parsed is not None, text
    assert parsed.command == command
    assert parsed.rest == rest


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("iscrivimi... anzi cancellami", (S, U)),
        ("Cancellami. Anzi no, iscrivimi", (U, S)),
        ("non so se iscrivermi o cancellarmi", (S, U)),
    ],
)
def test_an_ambiguous_message_names_the_intents_in_the_order_written(text, candidates):
    assert DEFAULT_KEYWORDS.parse(text).candidates == candidates


def test_a_clear_intent_has_no_candidates():
    assert DEFAULT_KEYWORDS.parse("iscrivimi").candidates == ()


def test_a_typo_names_the_keyword_it_stands_for():
    assert DEFAULT_KEYWORDS.parse("iscirvimi").keyword == "iscrivimi"
    assert DEFAULT_KEYWORDS.parse("non voglio più ricevere messaggi").keyword.startswith("non")


class _Org:
    subscribe_keywords = "Attiva VanzApp\nservizio info on, eccomi"
    unsubscribe_keywords = "Stop VanzApp, servizio info off\nciaone\nesci"


@pytest.mark.parametrize(
    ("text", "command", "rest"),
    [
        ("Attiva VanzApp", S, ""),
        ("attiva vanzapp eventi", S, "eventi"),
        ("Buongiorno, vorrei attiva VanzApp grazie", S, ""),
        ("servizio info on", S, ""),
        ("servizio info off", U, ""),
        ("Stop VanzApp", U, ""),
        ("eccomi", S, ""),
        ("ciaone", U, ""),
        ("esci", U, ""),
        ("mi fa ciaone", U, ""),
        ("dove esci stasera?", None, ""),  # a comune's short everyday word: only at the head
        ("iscrivimi", S, ""),
    ],
)
def test_a_comunes_own_words_keep_working_also_inside_sentences(text, command, rest):
    parsed = for_organization(_Org()).parse(text)
    assert (parsed and (parsed.command, parsed.rest)) == (command and (command, rest))


def test_a_comune_without_own_words_uses_the_defaults():
    class Plain:
        subscribe_keywords = unsubscribe_keywords = ""

    assert for_organization(Plain()) is DEFAULT_KEYWORDS
    assert Keywords().parse("Vorrei iscrivermi").command == S
