"""Reading a citizen's message as a command, tolerant of how people actually type.

Comuni use many sign-up words (reference/italy-context.md §1.2); people add punctuation,
emoji, accents, capitals, greetings and extra words. The rule: after a greeting, the message
must *start* with a known keyword; the longest keyword wins ("iscrizione off" beats
"iscrizione").

Every message a citizen writes passes through here, so nothing here may take more than
linear time in its length: plain tokenising, no regular expressions (a backtracking one
froze the whole installation on a 121-character message).
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


SUBSCRIBE_WORDS = (
    "iscrivimi",
    "iscrivermi",
    "iscrizione",
    "iscrizione on",
    "mi iscrivo",
    "attiva",
    "attiva iscrizione",
    "attiva servizio",
    "start",
    "subscribe",
    "join",
)
UNSUBSCRIBE_WORDS = (
    "cancellami",
    "cancella iscrizione",
    "cancellazione",
    "disiscrivimi",
    "disiscrizione",
    "disattiva",
    "disattiva iscrizione",
    "disattivazione",
    "iscrizione off",
    "stop",
    "basta",
    "unsubscribe",
)
INFO_WORDS = ("info", "informazioni", "aiuto", "help", "comandi")
TOPICS_WORDS = ("temi", "tema", "argomenti", "topics")
MY_DATA_WORDS = ("i miei dati", "miei dati", "my data")
GREETINGS = ("ciao", "salve", "buongiorno", "buonasera", "buon giorno", "hello", "hi")


@dataclass(frozen=True)
class Parsed:
    command: Command
    keyword: str
    # Words after the keyword: a zone, a confirmation code, topic names (later issues).
    rest: str = ""


def _plain(c: str) -> str:
    return c if "a" <= c <= "z" or "0" <= c <= "9" else " "


def normalize(text: str) -> str:
    """Lowercase, accents off, anything but letters and digits becomes a single space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(map(_plain, plain)).split())


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


@dataclass(frozen=True)
class Keywords:
    """A comune's keyword set; defaults cover the words comuni use today."""

    subscribe: tuple[str, ...] = SUBSCRIBE_WORDS
    unsubscribe: tuple[str, ...] = UNSUBSCRIBE_WORDS
    _table: list[tuple[str, Command]] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        pairs = [(normalize(w), Command.SUBSCRIBE) for w in self.subscribe]
        pairs += [(normalize(w), Command.UNSUBSCRIBE) for w in self.unsubscribe]
        pairs += [(normalize(w), Command.INFO) for w in INFO_WORDS]
        pairs += [(normalize(w), Command.TOPICS) for w in TOPICS_WORDS]
        pairs += [(normalize(w), Command.MY_DATA) for w in MY_DATA_WORDS]
        object.__setattr__(self, "_table", sorted(pairs, key=lambda p: -len(p[0])))

    def parse(self, text: str) -> Parsed | None:
        if topic_changes(text) is not None:
            # "+VIABILITA -EVENTI": the signs carry the meaning, so read the raw text.
            return Parsed(Command.TOPICS, "", (text or "").strip())
        words = normalize(text)
        for greeting in GREETINGS:
            if words == greeting or words.startswith(greeting + " "):
                words = words[len(greeting) :].strip()
                break
        for keyword, command in self._table:
            if words == keyword or words.startswith(keyword + " "):
                return Parsed(command, keyword, words[len(keyword) :].strip())
        return None


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
