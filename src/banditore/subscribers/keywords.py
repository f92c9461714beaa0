"""Reading a citizen's message as an intent, in the many ways Italians write one.

People add greetings, politeness, punctuation, emoji, capitals and typos, and put the
keyword inside a longer sentence ("Buongiorno, vorrei iscrivermi al servizio grazie").
The rules, decided here and relied on by chat.py:

- Phrases, not first words. Each known phrase ("iscrivimi", "mi iscrivo", "non voglio più
  ricevere messaggi", "cancella iscrizione") is looked up at every token of the message;
  the longest phrase at a position wins ("iscrizione off" beats "iscrizione").
- Strong and weak phrases. First-person requests (iscrivimi, cancellami, toglimi, ...) and
  multi-word phrases count anywhere. Short or everyday words that also occur in ordinary
  questions (attiva, stop, basta, iscrizione, info, temi, ...) count only at the head of a
  clause (after greetings and politeness: "Ciao, stop", "per favore basta") or when written
  in capitals inside a lower-case message ("Per favore STOP"): "è attiva la ZTL?" and
  "ne basta uno" are not commands. Even there, a weak sign-up word carries at most three
  words after it and a weak opt-out word one (WEAK_TAIL), and none in a question: "Stop
  VanzApp" and "iscrizione Postioma" are requests, "Basta con questi lavori in via Roma!"
  and "Start della maratona a che ora?" are not.
- A negation is not a request. "non" up to four modal/filler words before a phrase
  ("non iscrivermi", "non voglio iscrivermi", "non riesco a iscrivermi") cancels it; the
  opt-out phrases that contain their own "non" ("non voglio più ricevere") are requests.
- A question about how is not a request: "come mi iscrivo?", "come faccio a cancellarmi?"
  and the impersonal forms ("iscriversi", "ci si cancella") read as INFO, whose answer says
  how. Signing up needs an unambiguous act, and answering a question with a change of state
  would be a guess.
- The citizen's intent decides, not the first keyword: sign-up and opt-out in one message
  ("iscrivimi... anzi cancellami", "non so se iscrivermi o cancellarmi") is AMBIGUOUS, with
  the candidates, so chat.py asks back. A sign-up or opt-out wins over INFO/TOPICS words
  in the same message ("iscrivimi ai temi viabilità"); among those, the first one wins.
- A comune's own words (org.subscribe_keywords / unsubscribe_keywords) count anywhere when
  they are several words or one of 6+ letters ("Attiva VanzApp"); a shorter single word
  counts only where a weak default would, at the head of a clause.
- Typos: a token within one wrong, missing, extra or swapped (adjacent) letter of a
  keyword word of 6+ letters counts as that word, unless it is a real word of its own
  ("cancello", "cancellati", "attivo", "iscrizioni": PROTECTED). Runs of 3+ equal letters
  ("bastaaa") are squeezed first. Shorter keywords (stop, info, temi, start) match exactly.
- `rest` is what follows the phrase up to the end of its sentence (commas do not end it:
  "viabilità, eventi"), normalised, without leading fillers ("al servizio", "ai temi", "a",
  "e") and trailing politeness ("grazie", "per favore"); chat.py splits it into topics,
  zones and a code. TOPICS inside a sentence ("quali temi ci sono?") is a question: no rest.
  "+VIABILITA -EVENTI" (also after "TEMI") is TOPICS with the raw text as rest, as before.
- Any message with no such phrase is None: the caller sends the pointer.

Every message a citizen writes passes through here, so nothing here may take more than
linear time in its length: one normalising pass (str.translate), one tokenising pass,
dictionary look-ups per token with a bounded window (phrases are at most a few words,
negation looks back at most four), typo candidates only for tokens of keyword-like length
(so a 200,000-letter word costs one length check), corrections remembered within a message.
Sentence and clause ends are kept through normalising as marker tokens (qqzs, qqzc, qqzq);
a citizen typing one only moves a boundary. No regular expressions: a backtracking
one froze the whole installation on a 121-character message.
"""

import enum
import unicodedata
from dataclasses import dataclass, field


class Command(enum.StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    INFO = "info"
    TOPICS = "topics"
    MY_DATA = "my_data"
    AMBIGUOUS = "ambiguous"


# The words comuni configure and citizens write; weak ones count only at a clause's head.
SUBSCRIBE_WORDS = (
    "iscrivimi",
    "iscrivermi",
    "iscrivetemi",
    "iscriviti",
    "iscrivici",
    "mi iscrivo",
    "mi iscrivi",
    "mi iscrivete",
    "ci iscriviamo",
    "mi potete iscrivere",
    "mi puoi iscrivere",
    "mi vorrei iscrivere",
    "mi voglio iscrivere",
    "mi posso iscrivere",
    "attivami",
    "attivatemi",
    "aderisco",
    "aderire",
    "iscrizione on",
    "attiva iscrizione",
    "attiva servizio",
    "attiva il servizio",
    "attivare il servizio",
    "attivare servizio",
    "attivare iscrizione",
    "attivare l iscrizione",
    "subscribe",
    "subscribe me",
    "sign me up",
    "opt in",
)
SUBSCRIBE_WEAK = ("iscrizione", "iscrivi", "attiva", "adesione", "start", "join")
UNSUBSCRIBE_WORDS = (
    "cancellami",
    "cancellatemi",
    "cancellarmi",
    "mi cancello",
    "mi cancelli",
    "mi cancellate",
    "mi potete cancellare",
    "mi puoi cancellare",
    "mi vorrei cancellare",
    "mi voglio cancellare",
    "mi potete togliere",
    "disiscrivimi",
    "disiscrivetemi",
    "disiscrivermi",
    "mi disiscrivo",
    "disiscrizione",
    "toglimi",
    "toglietemi",
    "togliermi",
    "rimuovimi",
    "rimuovetemi",
    "rimuovermi",
    "eliminami",
    "eliminatemi",
    "disattivami",
    "disattivatemi",
    "cancella iscrizione",
    "cancella l iscrizione",
    "cancellare iscrizione",
    "cancellare l iscrizione",
    "annulla iscrizione",
    "annulla l iscrizione",
    "annullare l iscrizione",
    "disattiva iscrizione",
    "disattiva il servizio",
    "disattivare il servizio",
    "iscrizione off",
    "non ricevere piu",
    "non mandatemi piu",
    "non mandate piu",
    "non inviatemi piu",
    "non inviate piu",
    "non scrivetemi piu",
    "non mi scrivete piu",
    "non mi mandate piu",
    "non mi interessa piu",
    "non voglio piu",
    "non voglio piu essere iscritto",
    "non voglio piu essere iscritta",
    "non voglio essere iscritto",
    "non voglio essere iscritta",
    "unsubscribe",
    "unsubscribe me",
    "opt out",
)
UNSUBSCRIBE_WEAK = (
    "cancella",
    "cancellazione",
    "disattiva",
    "disattivazione",
    "stop",
    "basta",
    "annulla",
    "disdetta",
)
INFO_WORDS = (
    "iscriversi",
    "disiscriversi",
    "cancellarsi",
    "ci si iscrive",
    "ci si cancella",
    "ci si disiscrive",
)
INFO_WEAK = ("info", "informazioni", "aiuto", "help", "comandi")
TOPICS_QUESTIONS = (
    "quali temi",
    "che temi",
    "quali argomenti",
    "che argomenti",
    "elenco temi",
    "elenco dei temi",
    "lista temi",
    "lista dei temi",
    "miei temi",
)
TOPICS_WORDS = (
    "cambia temi",
    "cambiare temi",
    "modifica temi",
    "modificare temi",
    "cambia i temi",
    "cambiare i temi",
    "modifica i temi",
    "modificare i temi",
)
TOPICS_WEAK = ("temi", "tema", "argomenti", "topics")
MY_DATA_WORDS = ("i miei dati", "miei dati", "my data", "quali dati avete", "che dati avete")

# "vorrei ricevere le notizie" / "non voglio più ricevere messaggi", in their combinations.
_WANT = ("voglio", "vorrei", "desidero")
_NEWS = ("messaggi", "notizie", "aggiornamenti", "notifiche", "avvisi", "comunicazioni")
_ARTICLES = ("", "i", "le", "gli", "i vostri", "le vostre", "vostri", "vostre")
RECEIVE_WORDS = tuple(
    f"{want} ricevere {art} {news}".replace("  ", " ")
    for want in _WANT
    for art in _ARTICLES
    for news in _NEWS
)
STOP_RECEIVING_WORDS = tuple(
    f"non {want}{more} ricevere" for want in _WANT for more in ("", " piu")
) + tuple(
    f"non {want} piu {art} {news}".replace("  ", " ")
    for want in _WANT
    for art in _ARTICLES
    for news in _NEWS
)
# "vorrei l'iscrizione", "chiedo la cancellazione": a weak noun made a request by its verb.
_ASK = ("vorrei", "voglio", "chiedo", "richiedo", "richiesta", "desidero")
_OF = ("", "l", "la", "di", "d", "della", "per", "per l", "per la", "la mia", "mia")
ASKED_SUBSCRIBE = tuple(
    f"{ask} {of} {noun}".replace("  ", " ")
    for ask in _ASK
    for of in _OF
    for noun in ("iscrizione", "adesione", "attivazione")
)
ASKED_UNSUBSCRIBE = tuple(
    f"{ask} {of} {noun}".replace("  ", " ")
    for ask in _ASK
    for of in _OF
    for noun in ("cancellazione", "disattivazione", "disiscrizione", "disdetta")
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words skipped at the head of a clause: a weak keyword after them is still at the head.
SOFT = _words(
    "ciao salve buongiorno buonasera buon giorno buona sera hello hi hey ehi ok okay si "
    "allora ecco bene grazie prego per favore piacere please gentilmente cortesemente "
    "scusate scusi scusa gentile gentili spettabile egregio comune dear"
)
GREETINGS = ("ciao", "salve", "buongiorno", "buonasera", "buon giorno", "hello", "hi")
# Words between "non" and a phrase that keep the negation ("non voglio più iscrivermi").
BRIDGE = _words(
    "voglio vorrei volete vuoi desidero intendo devi dovete devo potete puoi posso riesco "
    "mi ti ci vi si piu ancora ho intenzione di a ad per farmi e mai proprio faccio fare fa "
    "bisogna occorre"
)
QUESTION = frozenset(("come", "how"))
# Leading words of `rest` that name no topic, zone or code.
FILLER = _words(
    "a ad al alla alle ai agli allo all per il lo la le i gli l e ed anche di del della dei "
    "delle degli dello d da su sul sulla sui sugli con col temi tema argomenti argomento "
    "seguenti seguente servizio notifiche messaggi notizie news avvisi aggiornamenti "
    "comunicazioni "
    "newsletter whatsapp canale lista vostro vostra vostri vostre mio mia miei mie "
    "solo soltanto zona frazione"
)
# Trailing politeness of `rest`.
POLITE = _words(
    "grazie mille per favore piacere please thanks thank you cortesemente gentilmente "
    "saluti cordiali distinti buona giornata serata ciao"
)
# Real words one letter away from a keyword word: never corrected into one.
PROTECTED = _words(
    "cancello cancellata cancellato cancellate cancellati cancellare cancellazioni "
    "attivo attivi attive attivati attivata attivate attivare iscritto iscritta iscritti "
    "iscritte iscrizioni iscrive iscrivo adesioni aderisce disattivo disattivi cancelli "
    "annullo annulli annullato annullata eliminati eliminata eliminato conferma "
    "disattive disattivata disattivato subscribed unsubscribed informazione argomento "
    "toglie togliere rimuove rimuovere elimina eliminare scrivimi scrivetemi scrivermi "
    "scriviti"
)

SENTENCE_END = ".!\n\r…"
CLAUSE_END = ",;:"
# Break markers that survive normalising; a citizen typing them only moves a boundary.
_SENTENCE = "qqzs"
_CLAUSE = "qqzc"
_QUESTION = "qqzq"  # ends a sentence that asks
_BREAKS = (
    {ord(c): f" {_SENTENCE} " for c in SENTENCE_END}
    | {ord(c): f" {_CLAUSE} " for c in CLAUSE_END}
    | {ord("?"): f" {_QUESTION} "}
)
_MARKERS = frozenset((_SENTENCE, _CLAUSE, _QUESTION))
# How many words a weak keyword may carry after it, once fillers and politeness are off:
# "Stop VanzApp", "iscrizione Postioma viabilità", but not "basta con questi lavori in via
# Roma" or "Start della maratona a che ora?". Queries may carry any (they change nothing).
WEAK_TAIL = {Command.SUBSCRIBE: 3, Command.UNSUBSCRIBE: 1}
_TAIL_WINDOW = 12  # tokens looked at, so the check stays constant per keyword


@dataclass(frozen=True)
class Parsed:
    command: Command
    keyword: str
    # Words after the keyword: topics, a zone, a confirmation code (chat.py splits them).
    rest: str = ""
    # For AMBIGUOUS: the intents found, in the order written; chat.py asks which one.
    candidates: tuple[Command, ...] = ()


class _CharMap(dict):
    """The per-character step of normalize(), for str.translate, computed once per char."""

    def __missing__(self, code: int):
        c = chr(code)
        if unicodedata.combining(c):
            value = None
        else:
            value = "".join(x if "a" <= x <= "z" or "0" <= x <= "9" else " " for x in c.lower())
        if len(self) > 20_000:  # an attacker's thousand scripts must not grow it forever
            self.clear()
        self[code] = value
        return value


_CHARS = _CharMap()


def normalize(text: str) -> str:
    """Lowercase, accents off, anything but letters and digits becomes a single space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join(decomposed.translate(_CHARS).split())


SIGNS = "+-"
SEPARATORS = ",;"


def _item(word: str) -> str | None:
    """The word of one '+word' item, without the spaces and separators around it."""
    end = len(word)
    while end and (word[end - 1] in SEPARATORS or word[end - 1].isspace()):
        end -= 1
    core = word[:end].strip()
    if not core or any(c in SEPARATORS for c in core):
        return None
    return core


def topic_changes(text: str) -> list[tuple[str, str]] | None:
    """'+VIABILITÀ -eventi, +2' → [('+', 'VIABILITÀ'), ('-', 'eventi'), ('+', '2')].

    None unless the whole text is such a list: each sign followed by a word, the items
    separated by spaces, commas or semicolons. One pass over the text.
    """
    text = (text or "").strip()
    if not text or text[0] not in SIGNS:
        return None
    starts = [i for i, c in enumerate(text) if c in SIGNS] + [len(text)]
    items = []
    for here, after in zip(starts, starts[1:], strict=False):
        word = _item(text[here + 1 : after])
        if word is None:
            return None
        items.append((text[here], word))
    return items


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one substitution, insertion, deletion or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        if a[start + 1 :] == b[start + 1 :]:
            return True
        return (
            a[start : start + 2] == b[start : start + 2][::-1] and a[start + 2 :] == b[start + 2 :]
        )
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1 :] == shorter[start:]


def _squeeze(token: str) -> str:
    """'bastaaa' → 'basta': a run of three or more equal letters becomes one."""
    runs = [c for c in set(token) if c * 3 in token]  # a few C-speed substring checks
    for c in runs:  # "cancellllami" → "cancelami": one missing letter, which typos allow
        while c * 2 in token:
            token = token.replace(c * 2, c)
    return token


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    command: Command
    strong: bool
    takes_rest: bool = True


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    phrase: _Phrase
    at_head: bool


_END = ""  # the trie key of a phrase ending at a node; no token is empty


@dataclass
class _Tokens:
    words: list[str]
    heads: list[bool]  # at a clause's head (or in capitals inside a lower-case message)
    clauses: list[int]
    sentences: list[int]
    questions: set[int]  # sentences ending in "?"
    # The words as written (normalised, not corrected): what `rest` hands on, since a
    # code or a name may look like a typo of a keyword ("AAA222").
    raw: list[str]


@dataclass(frozen=True)
class Keywords:
    """A comune's keyword set; defaults cover the words comuni and citizens use."""

    subscribe: tuple[str, ...] = SUBSCRIBE_WORDS
    unsubscribe: tuple[str, ...] = UNSUBSCRIBE_WORDS
    _trie: dict = field(init=False, repr=False, compare=False)
    _known: frozenset = field(init=False, repr=False, compare=False)
    _vocabulary: frozenset = field(init=False, repr=False, compare=False)
    _deletes: dict = field(init=False, repr=False, compare=False)
    _longest: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        entries = []

        def add(words, command, strong, takes_rest=True):
            for w in words:
                tokens = tuple(normalize(w).split())
                if tokens:
                    # A comune's one short everyday word counts only where a weak one would.
                    is_strong = (
                        strong or (len(tokens) > 1 or len(tokens[0]) >= 6) and strong is None
                    )
                    entries.append(_Phrase(tokens, command, bool(is_strong), takes_rest))

        defaults = len(SUBSCRIBE_WORDS), len(UNSUBSCRIBE_WORDS)
        add(self.subscribe[: defaults[0]], Command.SUBSCRIBE, True)
        add(self.subscribe[defaults[0] :], Command.SUBSCRIBE, None)
        add(SUBSCRIBE_WEAK, Command.SUBSCRIBE, False)
        add(RECEIVE_WORDS + ASKED_SUBSCRIBE, Command.SUBSCRIBE, True)
        add(self.unsubscribe[: defaults[1]], Command.UNSUBSCRIBE, True)
        add(self.unsubscribe[defaults[1] :], Command.UNSUBSCRIBE, None)
        add(UNSUBSCRIBE_WEAK, Command.UNSUBSCRIBE, False)
        add(STOP_RECEIVING_WORDS + ASKED_UNSUBSCRIBE, Command.UNSUBSCRIBE, True)
        add(INFO_WORDS, Command.INFO, True)
        add(INFO_WEAK, Command.INFO, False)
        add(TOPICS_QUESTIONS, Command.TOPICS, True, takes_rest=False)
        add(TOPICS_WORDS, Command.TOPICS, True)
        add(TOPICS_WEAK, Command.TOPICS, False)
        add(MY_DATA_WORDS, Command.MY_DATA, True, takes_rest=False)

        trie: dict = {}
        for entry in entries:
            node = trie
            for word in entry.words:
                node = node.setdefault(word, {})
            # The first entry of a phrase stays: a default before a comune's repetition of it.
            node.setdefault(_END, entry)
        words = {w for p in entries for w in p.words}
        # Typo tolerance (SymSpell-style): every one-letter deletion of each keyword word.
        vocabulary = frozenset(w for w in words if len(w) >= 6 and w not in PROTECTED)
        deletes: dict[str, set[str]] = {w: {w} for w in vocabulary}
        for word in vocabulary:
            for i in range(len(word)):
                deletes.setdefault(word[:i] + word[i + 1 :], set()).add(word)
        object.__setattr__(self, "_trie", trie)
        object.__setattr__(self, "_known", frozenset(words | SOFT | BRIDGE | FILLER | POLITE))
        object.__setattr__(self, "_vocabulary", vocabulary)
        object.__setattr__(self, "_deletes", deletes)
        object.__setattr__(self, "_longest", max(map(len, vocabulary), default=0) + 1)

    # -- tokens --------------------------------------------------------------------

    def _correct(self, token: str) -> str:
        """The keyword word one typo away from token, or token itself."""
        known = self._known
        if token in known or token in PROTECTED or not 5 <= len(token) <= 3 * self._longest:
            return token
        if len(set(token)) <= len(token) - 2:  # a run of three needs two repeats
            token = _squeeze(token)
            if token in known or token in PROTECTED:
                return token
        if len(token) > self._longest:
            return token
        # Keys are the keyword words and their one-letter deletions, so a deletion of the
        # token meeting one covers a missing, extra, wrong or swapped letter.
        near = self._deletes.get
        candidates = list(near(token, ()))
        for hit in map(near, [token[:i] + token[i + 1 :] for i in range(len(token))]):
            if hit:
                candidates.extend(hit)
        if not candidates:
            return token
        found = sorted(w for w in set(candidates) if _one_edit(token, w))
        return found[0] if found else token

    def _tokens(self, text: str) -> _Tokens:
        marked = normalize(text.translate(_BREAKS)).split()
        upper: set[str] = set()
        if text != text.upper():  # capitals stand out only in a message that is not all caps
            shouted = " ".join(w for w in text.split() if w.isupper())
            upper = set(normalize(shouted).split())
        out = _Tokens([], [], [], [], set(), [])
        corrected: dict[str, str] = {}  # a long message repeats its words
        sentence = clause = 0
        head = True
        for token in marked:
            if token in _MARKERS:
                if token == _QUESTION:
                    out.questions.add(sentence)
                sentence += token != _CLAUSE
                clause += 1
                head = True
                continue
            word = corrected.get(token)
            if word is None:
                word = corrected[token] = self._correct(token)
            out.words.append(word)
            out.raw.append(token)
            out.heads.append(head or token in upper)
            out.clauses.append(clause)
            out.sentences.append(sentence)
            if token not in SOFT:
                head = False
        return out

    # -- reading -------------------------------------------------------------------

    def _matches(self, tokens: _Tokens) -> list[_Match]:
        """The longest qualifying phrase at each position, left to right, not overlapping."""
        words, heads = tokens.words, tokens.heads
        found = []
        i = 0
        while i < len(words):
            node = self._trie
            best = None
            j = i
            while j < len(words) and words[j] in node:
                node = node[words[j]]
                j += 1
                phrase = node.get(_END)
                if phrase is not None and (
                    phrase.strong or heads[i] and _short_tail(tokens, j, phrase.command)
                ):
                    best = _Match(i, j, phrase, heads[i])
            if best is None:
                i += 1
            else:
                found.append(best)
                i = best.end
        return found

    @staticmethod
    def _modifier(tokens: _Tokens, start: int) -> str | None:
        """'non' or 'come' governing the phrase at start, through at most four bridge words."""
        j = start - 1
        while j >= 0 and start - j <= 5 and tokens.clauses[j] == tokens.clauses[start]:
            word = tokens.words[j]
            if word == "non":
                return "non"
            if word in QUESTION:
                return "come"
            if word not in BRIDGE:
                return None
            j -= 1
        return None

    def parse(self, text: str) -> Parsed | None:
        if topic_changes(text) is not None:
            # "+VIABILITA -EVENTI": the signs carry the meaning, so read the raw text.
            return Parsed(Command.TOPICS, "", (text or "").strip())
        text = text or ""
        tokens = self._tokens(text)
        intents: list[_Match] = []
        queries: list[_Match] = []
        matches = self._matches(tokens)
        for match in matches:
            phrase = match.phrase
            modifier = None if phrase.words[0] == "non" else self._modifier(tokens, match.start)
            if modifier == "non":
                continue
            if phrase.command in (Command.SUBSCRIBE, Command.UNSUBSCRIBE):
                if modifier == "come":  # how to, not a request: the info text says how
                    queries.append(_Match(match.start, match.end, _HOW, match.at_head))
                else:
                    intents.append(match)
            else:
                queries.append(match)
        found = tuple(dict.fromkeys(m.phrase.command for m in intents))
        if len(found) > 1:
            return Parsed(Command.AMBIGUOUS, "", "", found)
        chosen = intents or queries
        if not chosen:
            return None
        first = chosen[0]
        command, keyword = first.phrase.command, " ".join(first.phrase.words)
        if not first.phrase.takes_rest or (command == Command.TOPICS and not first.at_head):
            return Parsed(command, keyword)
        if command == Command.TOPICS:
            raw = _raw_changes(text)
            if raw is not None:
                return Parsed(command, keyword, raw)
        used = {i for m in matches for i in range(m.start, m.end)}
        return Parsed(command, keyword, _rest(tokens, first.end, used))


_HOW = _Phrase(("come",), Command.INFO, True, takes_rest=False)


def _raw_changes(text: str) -> str | None:
    """'TEMI +viabilita -eventi': the raw list after the keyword, signs kept."""
    cut = min((i for i in (text.find("+"), text.find("-")) if i >= 0), default=-1)
    if cut < 0 or topic_changes(text[cut:]) is None:
        return None
    return text[cut:].strip()


def _short_tail(tokens: _Tokens, start: int, command: Command) -> bool:
    """Whether a weak keyword ending at start is followed by few enough words to be meant."""
    limit = WEAK_TAIL.get(command)
    if limit is None:
        return True
    sentence = tokens.sentences[start - 1]
    words = []
    end = start
    while end < len(tokens.words) and tokens.sentences[end] == sentence:
        if end - start >= _TAIL_WINDOW:
            return False
        words.append(tokens.words[end])
        end += 1
    first, last = 0, len(words)
    while first < last and words[first] in FILLER:
        first += 1
    while last > first and words[last - 1] in POLITE:
        last -= 1
    if first < last and sentence in tokens.questions:
        return False  # "Start della maratona a che ora?" asks, it does not request
    return last - first <= limit


def _rest(tokens: _Tokens, start: int, used: set[int]) -> str:
    """The words after the phrase to the end of its sentence, fillers and politeness off."""
    end = start
    sentence = tokens.sentences[start - 1]
    while end < len(tokens.words) and tokens.sentences[end] == sentence:
        end += 1
    words = [tokens.raw[i] for i in range(start, end) if i not in used]
    first = 0
    while first < len(words) and words[first] in FILLER:
        first += 1
    last = len(words)
    while last > first and words[last - 1] in POLITE:
        last -= 1
    return " ".join(words[first:last])


DEFAULT_KEYWORDS = Keywords()


def _extra(words: str) -> tuple[str, ...]:
    """A comune's own words, one a line or comma-separated."""
    return tuple(w.strip() for w in (words or "").replace("\n", ",").split(",") if normalize(w))


def for_organization(org) -> Keywords:
    """The defaults plus the comune's own sign-up and opt-out words."""
    if not (org.subscribe_keywords or org.unsubscribe_keywords):
        return DEFAULT_KEYWORDS
    return Keywords(
        subscribe=SUBSCRIBE_WORDS + _extra(org.subscribe_keywords),
        unsubscribe=UNSUBSCRIBE_WORDS + _extra(org.unsubscribe_keywords),
    )
