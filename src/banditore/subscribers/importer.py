"""Moving a comune's existing broadcast lists in: reading a messy CSV, checking every row,
then subscribing the good ones, a batch at a time.

The lists come from a phone's broadcast lists, copied into Excel by hand (italy-context
§1.2): any encoding Excel writes, `;` or `,` or tab, Italian or English headers, numbers and
dates in every format people type. Proof of consent is often just "sent ISCRIVIMI on date X",
so every row needs a consent date (GDPR art. 7(1) needs the *when*); the source text, the
batch id, the file's SHA-256 and the line number go into each ConsentEvent's evidence so the
proof points back to the exact line of the exact file.

Two steps, so a dry run and the real run report the same thing:
`plan_import()` streams the file once, checks each row and looks the numbers up in the
database in batches, writing nothing; `apply_import()` subscribes the planned rows, one
transaction per batch (why: its docstring): numbers the comune never saw in bulk
(`subscribe_new`, the same rows `service.subscribe` writes, ~20 times faster), numbers it
knows as pending or unreachable through `service.subscribe`.

Decisions worth knowing:
- A number written as 11–12 bare digits starting with 39 (`393331234567`, how Excel saves
  `+39…` after eating the `+`) is read as international (+39…). A 10-digit number starting
  with 3 (`3931234567`) is an Italian mobile: Italian mobiles have 10 digits, so the two
  never collide.
- A date without a time means midnight (Europe/Rome) of that day; dates are day-first
  (`01/03/2024` is 1 March); two-digit years are 20yy; a date in the future is an error.
- A row without topics follows every topic of the comune, as a sign-up without a choice
  does; `tutti`/`all` says the same explicitly.
- Numbers that are already active are skipped; numbers that left (unsubscribed, or erased on
  request) are skipped too: their opt-out wins over an old list. Neither is an error.
- The same number twice in the file: the first row wins, the later ones are reported.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from banditore.core.db import let_writers_in
from banditore.core.models import Organization, audit
from banditore.core.phone import InvalidNumber, phone_hash, to_e164
from banditore.subscribers import service
from banditore.subscribers.keywords import normalize
from banditore.subscribers.models import ConsentEvent, Subscriber, Topic, Zone

# progress(phase, done, total): phase is "read" (bytes), "check" or "write" (rows).
Progress = Callable[[str, int, int], None]

BATCH = 2000
NAME_MAX = Subscriber._meta.get_field("name").max_length
CHUNK = 1 << 20

NUMBER, TOPICS, DATE, SOURCE, NAME, ZONE, STATUS = (
    "number",
    "topics",
    "date",
    "source",
    "name",
    "zone",
    "status",
)
# Header names as people write them, compared after `normalize` (case, accents, spaces and
# punctuation don't matter). Exact names only: "data di nascita" must never be taken for
# the consent date, nor "numero civico" for the phone number.
HEADERS = {
    NUMBER: (
        "numero",
        "numeri",
        "numero di telefono",
        "numero telefono",
        "numero di cellulare",
        "numero cellulare",
        "numero whatsapp",
        "n telefono",
        "n cellulare",
        "telefono",
        "tel",
        "cellulare",
        "cell",
        "mobile",
        "phone",
        "phone number",
        "number",
        "whatsapp",
    ),
    TOPICS: ("temi", "tema", "argomenti", "argomento", "topics", "topic", "categorie"),
    DATE: (
        "data consenso",
        "data del consenso",
        "data",
        "consent date",
        "date",
        "data iscrizione",
        "data di iscrizione",
        "iscritto dal",
        "iscritto il",
        "subscribed at",
        "subscribed",
    ),
    SOURCE: (
        "fonte",
        "fonte consenso",
        "fonte del consenso",
        "origine",
        "source",
        "consent source",
        "modalita",
        "canale",
    ),
    NAME: ("nome", "name", "nome e cognome", "cognome e nome", "nominativo"),
    ZONE: ("zona", "zone", "frazione", "quartiere", "localita"),
    STATUS: ("stato", "status"),
}
ROLE_OF = {normalize(alias): role for role, aliases in HEADERS.items() for alias in aliases}
ALL_TOPICS = {"tutti", "tutto", "tutte", "all", "*"}
ACTIVE_WORDS = {"active", "attivo", "attiva", "iscritto", "iscritta", "si", "yes"}
# Within one topics cell the strongest separator present splits it: "|" first, then ";",
# "," and "/" (a topic named "Scuola/Istruzione" survives "Scuola/Istruzione|Eventi").
TOPIC_SEPARATORS = ("|", ";", ",", "/")
# Cp1252 leaves these bytes undefined; a file holding them is read as latin-1.
CP1252_HOLES = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")

ISO_DATE = re.compile(
    r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[T ]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
DAY_FIRST_DATE = re.compile(
    r"(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4}|\d{2})"
    r"(?:[T ,]+(?:ore\s+)?(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?)?"
)
PUNCTUATION = re.compile(r"[\s.\-/()\u00a0]")
EXCEL_FLOAT = re.compile(r"(\d{9,})\.0")
SEP_LINE = re.compile(r"sep=[;,\t|]", re.IGNORECASE)


# What an erased number leaves behind when it had said no.
OPT_OUT = Q(action=ConsentEvent.Action.UNSUBSCRIBE) | Q(
    action=ConsentEvent.Action.ERASE, source=ConsentEvent.Source.OPERATOR
)


class ImportFailed(Exception):
    """The file can't be imported at all (unreadable, no number column...)."""


# --- single values --------------------------------------------------------------------


def parse_number(raw: str) -> str:
    """Any way a person or Excel writes a number → E.164; InvalidNumber otherwise."""
    text = (raw or "").strip().lstrip("'")  # Excel's "keep as text" apostrophe
    float_like = EXCEL_FLOAT.fullmatch(text)
    if float_like:  # 393331234567.0: a column Excel turned into numbers
        text = float_like.group(1)
    digits = PUNCTUATION.sub("", text)
    if digits.isdigit() and digits.startswith("39") and len(digits) in (11, 12):
        text = "+" + digits
    return to_e164(text)


def parse_date(raw: str, tz=None) -> datetime:
    """'2024-03-01', '01/03/2024', '1/3/24', '01-03-2024 10:15' → an aware datetime.

    Day first, as Italians write dates; no time means the start of that day; a time without
    a zone is in the comune's time zone. ValueError if it isn't a real date.
    """
    text = " ".join((raw or "").split())
    tz = tz or timezone.get_default_timezone()
    match = ISO_DATE.fullmatch(text) or DAY_FIRST_DATE.fullmatch(text)
    if not match:
        raise ValueError(text)
    parts = match.groupdict()
    year = int(parts["y"])
    if len(parts["y"]) == 2:
        year += 2000
    value = datetime(
        year,
        int(parts["m"]),
        int(parts["d"]),
        int(parts["H"] or 0),
        int(parts["M"] or 0),
        int(parts["S"] or 0),
    )
    offset = parts.get("tz")
    if offset:
        return datetime.fromisoformat(value.isoformat() + offset.replace("Z", "+00:00"))
    return timezone.make_aware(value, tz)


def clean_name(raw: str) -> str:
    # The exporter protects names from spreadsheet formulas with a leading apostrophe.
    text = " ".join((raw or "").split())
    if text[:2] in {"'=", "'+", "'-", "'@"}:
        text = text[1:]
    return text[:NAME_MAX]


class Matcher:
    """A comune's topics (or zones) by name or keyword, accent- and case-insensitively."""

    def __init__(self, items: Iterable[Topic | Zone]):
        self.items = list(items)
        self.by_key: dict[str, Topic | Zone] = {}
        self.cache: dict[str, tuple[list[Topic | Zone] | None, list[str]]] = {}
        for item in self.items:
            for text in (item.name, item.slug):
                key = normalize(text)
                self.by_key.setdefault(key, item)
                self.by_key.setdefault(key.replace(" ", ""), item)

    def one(self, text: str) -> Topic | Zone | None:
        key = normalize(text)
        return self.by_key.get(key) or self.by_key.get(key.replace(" ", ""))

    def many(self, cell: str) -> tuple[list[Topic | Zone] | None, list[str]]:
        """(matched items, or None for "all of them"; the names that matched nothing)."""
        # A list repeats the same few topic cells over and over.
        if cell not in self.cache:
            self.cache[cell] = self._many(cell)
        return self.cache[cell]

    def _many(self, cell: str) -> tuple[list[Topic | Zone] | None, list[str]]:
        if normalize(cell) in ALL_TOPICS or cell.strip() == "*":
            return None, []
        whole = self.one(cell)
        if whole is not None:
            return [whole], []
        separator = next((s for s in TOPIC_SEPARATORS if s in cell), None)
        parts = [p.strip() for p in cell.split(separator)] if separator else [cell]
        found: list[Topic | Zone] = []
        unknown: list[str] = []
        for part in parts:
            if not normalize(part):
                continue
            item = self.one(part)
            if item is None:
                unknown.append(part)
            elif item not in found:
                found.append(item)
        return found, unknown

    def names(self) -> str:
        return ", ".join(item.name for item in self.items)


# --- the file -------------------------------------------------------------------------


@dataclass
class SourceFile:
    path: Path
    size: int
    sha256: str
    encoding: str


def inspect_file(path: Path) -> SourceFile:
    """One pass over the bytes: the SHA-256 (the proof names the file) and the encoding.

    UTF-8 with or without BOM; otherwise what Excel writes on Windows (cp1252), or latin-1
    if even cp1252 can't read it. Never fails on encoding: every byte means something in
    latin-1.
    """
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise ImportFailed(
            _("Can't read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
        ) from exc
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, is_cp1252, head = True, True, b""
    with handle:
        while chunk := handle.read(CHUNK):
            if not head:
                head = chunk[:3]
            digest.update(chunk)
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            if is_cp1252 and CP1252_HOLES.search(chunk):
                is_cp1252 = False
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if is_utf8:
        encoding = "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    else:
        encoding = "cp1252" if is_cp1252 else "latin-1"
    return SourceFile(path=path, size=size, sha256=digest.hexdigest(), encoding=encoding)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter is whichever of ; tab , the header line uses most (header names don't
    hold delimiters, unlike data: topic lists, decimal commas). One column: ','."""
    counts = {d: header_line.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- the plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    line: int
    code: str
    # Facts for the message: the raw value, the number, the earlier line...
    detail: dict = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.code in ERRORS

    @property
    def message(self) -> str:
        return MESSAGES[self.code]() % self.detail


ERRORS = {
    "missing_number",
    "invalid_number",
    "missing_date",
    "bad_date",
    "future_date",
    "unknown_topic",
    "unknown_zone",
}
# Lazily translated: the active language is known only when the message is shown.
MESSAGES: dict[str, Callable[[], str]] = {
    "missing_number": lambda: _("no phone number"),
    "invalid_number": lambda: _("not a valid phone number: %(value)s"),
    "missing_date": lambda: _("no consent date (add one to the row or use --consent-date)"),
    "bad_date": lambda: _("consent date not understood: %(value)s (write it as 01/03/2024)"),
    "future_date": lambda: _("consent date in the future: %(value)s"),
    "unknown_topic": lambda: _("unknown topic: %(value)s (topics: %(known)s)"),
    "unknown_zone": lambda: _("unknown zone: %(value)s (zones: %(known)s)"),
    "duplicate": lambda: _("%(phone)s is also on line %(first)d: the first one counts"),
    "already_active": lambda: _("%(phone)s is already subscribed: skipped"),
    "opted_out": lambda: _(
        "%(phone)s left the service on %(when)s: their opt-out wins, not subscribed again"
    ),
    "not_active": lambda: _("%(phone)s has status %(value)s in the file: skipped"),
}
SKIPS = ("duplicate", "already_active", "opted_out", "not_active")


class Row:
    """One row that will be subscribed. Slots: a 100,000-row list stays small."""

    __slots__ = ("line", "phone", "when", "date_text", "source_text", "topics", "zone", "name")

    def __init__(self, line, phone, when, date_text, source_text, topics, zone, name):
        self.line = line
        self.phone = phone
        self.when = when
        self.date_text = date_text
        self.source_text = source_text
        self.topics = topics  # tuple of topic ids, or None for every topic
        self.zone = zone  # zone id or None
        self.name = name


@dataclass
class ImportPlan:
    organization: Organization
    file: SourceFile
    delimiter: str
    # column header as written → role; roles the file lacks are absent
    columns: dict[str, str]
    ignored_columns: list[str]
    batch_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data_rows: int = 0
    default_date: str = ""
    default_source: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def invalid_lines(self) -> int:
        return len({p.line for p in self.problems if p.is_error})

    def count(self, code: str) -> int:
        return sum(1 for p in self.problems if p.code == code)


def _rows(handle, delimiter: str, first_line: int) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a NUL byte, a quote left open for 100 kB...
            raise ImportFailed(
                _("Line %(line)d can't be read: %(error)s")
                % {"line": first_line + reader.line_num - 1, "error": exc}
            ) from None
        yield first_line + reader.line_num - 1, [c.strip() for c in cells]


def _map_columns(header: list[str]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    by_index: dict[int, str] = {}
    named: dict[str, str] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        role = ROLE_OF.get(normalize(title))
        if role is None:
            if title:
                ignored.append(title)
            continue
        if role in by_index.values():
            first = next(t for t, r in named.items() if r == role)
            raise ImportFailed(
                _("Columns %(first)s and %(second)s both look like the %(role)s: rename one.")
                % {"first": first, "second": title, "role": role_label(role)}
            )
        by_index[index] = role
        named[title] = role
    return by_index, named, ignored


def role_label(role: str) -> str:
    return {
        NUMBER: _("phone number"),
        TOPICS: _("topics"),
        DATE: _("consent date"),
        SOURCE: _("consent source"),
        NAME: _("name"),
        ZONE: _("zone"),
        STATUS: _("status"),
    }[role]


def plan_import(
    org: Organization,
    path: str | Path,
    *,
    default_date: str = "",
    default_source: str = "",
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Read and check the whole file and look its numbers up; write nothing."""
    path = Path(path)
    now = now or timezone.now()
    if default_date:
        try:
            default_when = parse_date(default_date)
        except ValueError as exc:
            raise ImportFailed(
                _("--consent-date not understood: %(value)s (write it as 2024-03-01)")
                % {"value": default_date}
            ) from exc
        if default_when > now:
            raise ImportFailed(_("--consent-date is in the future: %s") % default_date)
    source = inspect_file(path)  # fast: hashing runs at hundreds of MB/s
    if progress:
        progress("read", 0, source.size)
    topics = Matcher(org.topics.all())
    zones = Matcher(org.zones.all())

    binary = path.open("rb")
    with io.TextIOWrapper(binary, encoding=source.encoding, newline="") as handle:
        # Blank lines before the header happen (Excel keeps empty top rows), and so does
        # Excel's "sep=;" line naming the delimiter.
        skipped, delimiter = 0, ""
        for header_line in handle:
            text = header_line.strip(" \t\r\n;,\ufeff")
            if text and not delimiter and SEP_LINE.fullmatch(header_line.strip("\r\n\ufeff")):
                delimiter = header_line.strip("\r\n\ufeff")[4]
            elif text:
                break
            skipped += 1
        else:
            raise ImportFailed(_("The file is empty."))
        delimiter = delimiter or sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=delimiter))
        header = [h.strip().lstrip("\ufeff") for h in header]
        by_index, named, ignored = _map_columns(header)
        rows = _rows(handle, delimiter, skipped + 2)
        if NUMBER not in by_index.values():
            # A bare list of numbers, one per line, with no header at all.
            try:
                parse_number(header[0])
            except InvalidNumber:
                raise ImportFailed(
                    _(
                        "No column with the phone numbers: the first line must name the "
                        "columns, e.g. numero;temi;data consenso;fonte (found: %(found)s)."
                    )
                    % {"found": ", ".join(h for h in header if h) or "-"}
                ) from None
            by_index, named, ignored = {0: NUMBER}, {"": NUMBER}, []
            rows = _chain([(skipped + 1, header)], rows)
        plan = ImportPlan(
            organization=org,
            file=source,
            delimiter=delimiter,
            columns=named,
            ignored_columns=ignored,
            default_date=default_date,
            default_source=default_source,
        )
        column = {role: index for index, role in by_index.items()}
        seen: dict[str, int] = {}
        dates: dict[str, datetime] = {}
        last_report = 0
        for line, cells in rows:
            if not any(cells):
                continue
            plan.data_rows += 1
            row = _check_row(plan, line, cells, column, seen, dates, topics, zones, now)
            if row is not None:
                plan.rows.append(row)
            if progress and plan.data_rows - last_report >= 1000:
                last_report = plan.data_rows
                progress("read", binary.tell(), source.size)
    if progress:
        progress("read", source.size, source.size)
    _check_database(plan, progress)
    plan.problems.sort(key=lambda p: p.line)
    return plan


def _chain(first, rest):
    yield from first
    yield from rest


def _check_row(plan, line, cells, column, seen, dates, topics, zones, now) -> Row | None:
    def cell(role: str) -> str:
        index = column.get(role)
        return cells[index] if index is not None and index < len(cells) else ""

    problems: list[Problem] = []
    raw_number = cell(NUMBER)
    phone = ""
    if not raw_number:
        problems.append(Problem(line, "missing_number"))
    else:
        try:
            phone = parse_number(raw_number)
        except InvalidNumber:
            problems.append(Problem(line, "invalid_number", {"value": raw_number}))
    if phone:
        if phone in seen:
            plan.problems.append(Problem(line, "duplicate", {"phone": phone, "first": seen[phone]}))
            return None
        seen[phone] = line
    status = cell(STATUS)
    if phone and status and normalize(status) not in ACTIVE_WORDS:
        plan.problems.append(Problem(line, "not_active", {"phone": phone, "value": status}))
        return None
    date_text = cell(DATE) or plan.default_date
    when = None
    if not date_text:
        problems.append(Problem(line, "missing_date"))
    else:
        try:
            when = dates[date_text] if date_text in dates else parse_date(date_text)
            dates[date_text] = when  # many rows share a day
        except ValueError:
            problems.append(Problem(line, "bad_date", {"value": date_text}))
        else:
            if when > now:
                problems.append(Problem(line, "future_date", {"value": date_text}))
    chosen, unknown = topics.many(cell(TOPICS)) if cell(TOPICS) else (None, [])
    for name in unknown:
        problems.append(Problem(line, "unknown_topic", {"value": name, "known": topics.names()}))
    zone = None
    if cell(ZONE):
        zone = zones.one(cell(ZONE))
        if zone is None:
            known = zones.names() or "-"
            problems.append(Problem(line, "unknown_zone", {"value": cell(ZONE), "known": known}))
    if problems:
        plan.problems.extend(problems)
        return None
    return Row(
        line=line,
        phone=phone,
        when=when,
        date_text=date_text,
        source_text=cell(SOURCE) or plan.default_source,
        topics=None if chosen is None else tuple(t.id for t in chosen),
        zone=zone.id if zone else None,
        name=clean_name(cell(NAME)),
    )


def _batches(items: list) -> Iterator[list]:
    size = BATCH
    for start in range(0, len(items), size):
        yield items[start : start + size]


def known_numbers(org: Organization, phones: list[str]) -> dict[str, tuple[str, datetime | None]]:
    """What the comune already knows of these numbers: number → (code, since when).

    "already_active": in already. "opted_out": unsubscribed; or erased after saying no (a
    withdrawal, or an erasure an operator did on request), which leaves no subscriber, only
    the pseudonymised proof. The retention purge also erases sign-ups that were never
    confirmed: those never said no, so they may come in. "exists": pending or unreachable,
    where the import's consent stands. Numbers the comune never saw are absent.
    """
    found: dict[str, tuple[str, datetime | None]] = {}
    existing = Subscriber.objects.filter(organization=org, phone__in=phones)
    for phone, status, left in existing.values_list("phone", "status", "unsubscribed_at"):
        if status == Subscriber.Status.ACTIVE:
            found[phone] = ("already_active", None)
        elif status == Subscriber.Status.UNSUBSCRIBED:
            found[phone] = ("opted_out", left)
        else:
            found[phone] = ("exists", None)
    unknown = {phone_hash(p): p for p in phones if p not in found}
    if unknown:
        opt_outs = ConsentEvent.objects.filter(
            OPT_OUT, organization=org, phone_hash__in=list(unknown)
        ).order_by("occurred_at")
        for hashed, when in opt_outs.values_list("phone_hash", "occurred_at"):
            found[unknown[hashed]] = ("opted_out", when)  # the latest one stays
    return found


def _check_database(plan: ImportPlan, progress: Progress | None) -> None:
    kept: list[Row] = []
    total, done = len(plan.rows), 0
    for batch in _batches(plan.rows):
        known = known_numbers(plan.organization, [r.phone for r in batch])
        for row in batch:
            code, when = known.get(row.phone, ("", None))
            if code in ("", "exists"):
                kept.append(row)
                continue
            detail = {"phone": row.phone}
            if code == "opted_out":
                detail["when"] = local_date(when)
            plan.problems.append(Problem(row.line, code, detail))
        done += len(batch)
        if progress:
            progress("check", done, total)
    plan.rows = kept


def local_date(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y") if value else "?"


# --- writing --------------------------------------------------------------------------


@dataclass
class ImportResult:
    batch_id: str
    imported: int = 0
    # Numbers that became active or left between the check and the write.
    skipped: int = 0


class ImportInterrupted(Exception):
    """The write stopped partway: `result` says what is in (each row with its consent
    event), `__cause__` why. The same file imported again adds the rest."""

    def __init__(self, result: ImportResult):
        super().__init__(f"import {result.batch_id} stopped after {result.imported} rows")
        self.result = result

    def message(self) -> str:
        """What the operator reads, whatever the cause."""
        if isinstance(self.__cause__, IntegrityError):
            why = _("a number in the file signed up on its own meanwhile")
        else:
            why = str(self.__cause__) or type(self.__cause__).__name__
        return _(
            "The import stopped (%(why)s) after %(count)d subscribers (batch %(batch)s): "
            "those are in, with their consent. Import the same file again to add the rest."
        ) % {"why": why, "count": self.result.imported, "batch": self.result.batch_id}


def apply_import(
    plan: ImportPlan, *, actor_label: str = "cli", progress: Progress | None = None
) -> ImportResult:
    """Subscribe every planned row, one transaction per batch.

    Not one transaction for the whole file: SQLite has one write lock for the whole
    database, and 100,000 rows would hold it past the webhook receiver's busy timeout.
    Each batch is a true record once committed (active subscribers with their consent
    events), so a failure takes nothing back (the consent log is append-only): it raises
    ImportInterrupted, the audit log says how far it got, and the same file imported again
    skips the numbers already in and adds the rest.

    Numbers the comune has never seen (nearly all of them, moving old lists in) are written
    in bulk by `subscribe_new`; the few it knows as pending or unreachable go through
    `service.subscribe`, which owns those transitions.
    """
    org = plan.organization
    result = ImportResult(batch_id=plan.batch_id)
    scope = _Scope(org)
    try:
        for batch in _batches(plan.rows):
            with transaction.atomic():
                _write_batch(plan, batch, scope, result)
            let_writers_in()
            if progress:
                progress("write", result.imported + result.skipped, len(plan.rows))
    except Exception as exc:
        with contextlib.suppress(Exception):
            _audit_import(plan, result, actor_label, "subscribers.import_interrupted")
        raise ImportInterrupted(result) from exc
    _audit_import(plan, result, actor_label, "subscribers.imported")
    return result


def _write_batch(plan: ImportPlan, batch: list[Row], scope: _Scope, result: ImportResult):
    # Looked up again inside the transaction: someone may have written CANCELLAMI since
    # the plan was made.
    known = known_numbers(plan.organization, [r.phone for r in batch])
    result.imported += subscribe_new(plan, [r for r in batch if r.phone not in known], scope)
    for row in batch:
        code = known.get(row.phone, ("", None))[0]
        if code == "exists":
            change = service.subscribe(
                plan.organization,
                row.phone,
                source=ConsentEvent.Source.IMPORT,
                evidence=_evidence(plan, row),
                when=row.when,
                topics=scope.topics_of(row),
                zone=scope.zones.get(row.zone),
                name=row.name,
            )
            result.imported += change.changed
            result.skipped += not change.changed
        elif code:
            result.skipped += 1


def _audit_import(plan: ImportPlan, result: ImportResult, actor_label: str, action: str):
    audit(
        plan.organization,
        action,
        f"import:{plan.batch_id}",
        label=actor_label,
        batch=plan.batch_id,
        file=plan.file.path.name,
        sha256=plan.file.sha256,
        rows=plan.data_rows,
        imported=result.imported,
        skipped=result.skipped + sum(plan.count(code) for code in SKIPS),
        invalid_lines=[p.line for p in plan.errors][:1000],
        consent_date_default=plan.default_date,
        consent_source_default=plan.default_source,
    )


class _Scope:
    """The comune's topics and zones, loaded once for the whole import."""

    def __init__(self, org: Organization):
        self.topics = {t.id: t for t in org.topics.all()}
        self.every_topic = list(self.topics.values())
        self.zones = {z.id: z for z in org.zones.all()}

    def topics_of(self, row: Row) -> list[Topic]:
        return self.every_topic if row.topics is None else [self.topics[t] for t in row.topics]


def subscribe_new(plan: ImportPlan, rows: list[Row], scope: _Scope) -> int:
    """`service.subscribe` for numbers the comune has never seen, a batch at a time.

    Writes the rows `service.subscribe` and `service.record` write (an active subscriber,
    its topics, a "subscribe" ConsentEvent with the scope as it now stands) with three
    multi-row INSERTs per batch instead of about ten ORM queries per number: 100,000 rows
    take well under a minute instead of ten. tests/subscribers/test_import_parity.py holds
    the two paths to the same rows; a change to one must go to the other.
    """
    if not rows:
        return 0
    org = plan.organization
    ops = connection.ops
    at = ops.adapt_datetimefield_value
    now = at(timezone.now())
    active = Subscriber.Status.ACTIVE
    _insert(
        Subscriber,
        [
            {
                "organization_id": org.pk,
                "phone": row.phone,
                "status": active,
                "zone_id": row.zone,
                "name": row.name,
                "confirmed_at": at(row.when),
                "approved_at": at(row.when),
                "subscribed_at": at(row.when),
                "created_at": now,
            }
            for row in rows
        ],
    )
    ids = dict(
        Subscriber.objects.filter(organization=org, phone__in=[r.phone for r in rows]).values_list(
            "phone", "pk"
        )
    )
    # A query each time it is read: once for the whole batch.
    notice = org.privacy_notice_version
    links, events = [], []
    for row in rows:
        chosen = scope.topics_of(row)
        zone = scope.zones.get(row.zone)
        links += [{"subscriber_id": ids[row.phone], "topic_id": t.pk} for t in chosen]
        events.append(
            {
                "organization_id": org.pk,
                "subscriber_id": ids[row.phone],
                "phone": row.phone,
                "phone_hash": phone_hash(row.phone),
                "action": ConsentEvent.Action.SUBSCRIBE,
                "source": ConsentEvent.Source.IMPORT,
                "notice_version": notice,
                "topics": ops.adapt_json_value(sorted(t.slug for t in chosen), None),
                "zone": zone.slug if zone else "",
                "evidence": ops.adapt_json_value(_evidence(plan, row), None),
                "occurred_at": at(row.when),
                "recorded_at": now,
            }
        )
    _insert(Subscriber.topics.through, links)
    _insert(ConsentEvent, events)
    return len(rows)


def _insert(model, rows: list[dict]) -> None:
    """Write many rows whose values are already in database form.

    SQLite: one statement per chunk, as large as it takes (999 parameters), faster than
    `executemany`. PostgreSQL: COPY (`executemany` there costs a statement per row).
    Columns a row doesn't name get the field's default, so a field added to the model
    later doesn't break the import (the parity test then says whether it should be set).
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = rows[0].keys()
    defaults = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.attname not in given
    }
    quote = connection.ops.quote_name
    table = "{} ({})".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    )
    names = [f.attname for f in fields]
    if connection.vendor == "postgresql":
        # COPY: psycopg spends longer building a multi-row INSERT this size than the
        # server spends running it.
        # The raw cursor: Django's wrapper has no copy(); its errors are translated by hand.
        sql = f"COPY {table} FROM STDIN"
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(sql) as copy,
        ):
            for row in rows:
                copy.write_row([row[n] if n in row else defaults[n] for n in names])
        return
    one = "({})".format(", ".join(["%s"] * len(fields)))
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params = [row[n] if n in row else defaults[n] for row in chunk for n in names]
            cursor.execute(f"INSERT INTO {table} VALUES " + ", ".join([one] * len(chunk)), params)


def _evidence(plan: ImportPlan, row: Row) -> dict:
    return {
        "import_batch": plan.batch_id,
        "file": plan.file.path.name,
        "file_sha256": plan.file.sha256,
        "line": row.line,
        "consent_date": row.date_text,
        "consent_source": row.source_text,
    }


def consent_window(plan: ImportPlan) -> tuple[date, date] | None:
    """The earliest and latest consent date among the rows to import (for the summary)."""
    if not plan.rows:
        return None
    whens = [timezone.localtime(r.when) for r in plan.rows]
    return min(whens).date(), max(whens).date()
