"""`banditore subscribers import|export|history|approve|pending|erase|export-data`.

The office's subscriber work from the command line: move the old broadcast lists in, take
the list out, answer "when did this number agree, and how?", let proven sign-ups in, and
handle art. 15/17 requests.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from banditore.core.management.comune import organization
from banditore.core.models import audit
from banditore.core.phone import InvalidNumber, phone_hash
from banditore.core.spreadsheet import CommandOut
from banditore.subscribers import exporter, importer, privacy, service
from banditore.subscribers.keywords import normalize
from banditore.subscribers.models import ConsentEvent, Subscriber

S = Subscriber.Status
YES = {"s", "si", "y", "yes"}
# Below this size an import is over before a progress bar would help.
PROGRESS_MIN_BYTES = 256 * 1024


def e164(raw: str) -> str:
    try:
        return importer.parse_number(raw)
    except InvalidNumber:
        raise CommandError(_("Not a valid phone number: %s") % raw) from None


def local(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M:%S") if value else "-"


class ProgressBar:
    """Progress on stderr: a bar redrawn in place on a terminal, a line per 10% otherwise
    (logs, cron mail). Silent for small files."""

    WIDTH = 30

    def __init__(self, out, *, min_bytes: int = PROGRESS_MIN_BYTES):
        self.out = out
        self.tty = out.isatty()
        self.min_bytes = min_bytes
        self.enabled: bool | None = None
        self.phase = ""
        self.shown = -1

    def label(self, phase: str) -> str:
        return {"read": _("Reading"), "check": _("Checking"), "write": _("Importing")}[phase]

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.enabled is None:  # the first call is about the file's size
            self.enabled = phase != "read" or total >= self.min_bytes
        if not self.enabled:
            return
        if phase != self.phase:
            self.finish()
            self.phase, self.shown = phase, -1
        percent = 100 if not total else min(100, done * 100 // total)
        step = percent if self.tty else percent // 10 * 10
        if step == self.shown:
            return
        self.shown = step
        label = self.label(phase)
        if self.tty:
            filled = self.WIDTH * percent // 100
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._write(f"\r{label:<10} [{bar}] {percent:3d}%")
        else:
            self._write(f"{label} {step}%\n")

    def finish(self) -> None:
        if self.tty and self.phase:
            self._write("\n")
        self.phase = ""

    def _write(self, text: str) -> None:
        self.out.write(text, style_func=lambda x: x, ending="")
        self.out.flush()


class Command(BaseCommand):
    help = "Import, export and look after the comune's subscribers and their consent."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        def command(name, text, *, with_number=True):
            p = sub.add_parser(name, help=text)
            if with_number:
                p.add_argument("number", help="phone number, in any format")
            p.add_argument("--org", help="the comune's slug (needed only if there are several)")
            return p

        imp = command(
            "import", "Subscribe the numbers of a CSV file (old lists).", with_number=False
        )
        imp.add_argument("file", help="CSV: numero[;temi][;data consenso][;fonte]")
        imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        imp.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows even if some aren't"
        )
        imp.add_argument("--consent-date", default="", help="for rows without one, YYYY-MM-DD")
        imp.add_argument("--consent-source", default="", help="for rows without one")
        exp = command("export", "Subscribers as CSV (Excel).", with_number=False)
        exp.add_argument("--status", choices=exporter.STATUSES, default="active")
        exp.add_argument("--output", help="file to write (default: standard output)")
        command("history", "A number's whole consent history, also after erasure.")
        command("approve", "Let a proven sign-up in.")
        command("pending", "Numbers waiting for approval.", with_number=False)
        erase = command("erase", "Erase a number (art. 17); proof of consent stays.")
        erase.add_argument("--yes", action="store_true", help="don't ask for confirmation")
        command("export-data", "Everything held about a number, as JSON (art. 15).")

    def handle(self, *args, action, **options):
        handlers = {
            "import": self.import_,
            "export": self.export,
            "history": self.history,
            "approve": self.approve,
            "pending": self.pending,
            "erase": self.erase,
            "export-data": self.export_data,
        }
        return handlers[action](**options)

    # --- import ---------------------------------------------------------------------

    def import_(self, *, file, org, dry_run, skip_invalid, consent_date, consent_source, **_o):
        comune = organization(org)
        progress = ProgressBar(self.stderr)
        try:
            plan = importer.plan_import(
                comune,
                file,
                default_date=consent_date.strip(),
                default_source=consent_source.strip(),
                progress=progress,
            )
        except importer.ImportFailed as exc:
            raise CommandError(str(exc)) from None
        finally:
            progress.finish()
        self.report(plan)
        blocked = plan.invalid_lines and not skip_invalid
        if dry_run:
            self.stdout.write(_("Dry run: nothing was written."))
            if blocked:
                raise CommandError(
                    _(
                        "Invalid rows: %d. The import would stop; fix them, or use "
                        "--skip-invalid to import the others."
                    )
                    % plan.invalid_lines
                )
            return
        if blocked:
            raise CommandError(
                _(
                    "Invalid rows: %d. Nothing was imported; fix them, or use "
                    "--skip-invalid to import the others."
                )
                % plan.invalid_lines
            )
        if not plan.rows:
            self.stdout.write(_("Nothing to import."))
            return
        try:
            result = importer.apply_import(plan, actor_label="cli", progress=progress)
        except importer.ImportInterrupted as exc:
            raise CommandError(exc.message()) from exc
        finally:
            progress.finish()
        self.stdout.write(
            _("Subscribers imported: %(count)d (batch %(batch)s).")
            % {"count": result.imported, "batch": result.batch_id}
        )
        if result.skipped:
            self.stdout.write(
                _(
                    "Numbers that changed while importing (subscribed or left meanwhile), "
                    "skipped: %d."
                )
                % result.skipped
            )

    def report(self, plan: importer.ImportPlan) -> None:
        delimiter = {"\t": "tab"}.get(plan.delimiter, plan.delimiter)
        self.stdout.write(
            _("File %(name)s: SHA-256 %(sha)s, encoding %(encoding)s, delimiter %(delimiter)s")
            % {
                "name": plan.file.path.name,
                "sha": plan.file.sha256,
                "encoding": plan.file.encoding,
                "delimiter": delimiter,
            }
        )
        columns = ", ".join(
            f"{title} → {importer.role_label(role)}" if title else importer.role_label(role)
            for title, role in plan.columns.items()
        )
        self.stdout.write(_("Columns: %s") % columns)
        if plan.ignored_columns:
            self.stdout.write(_("Ignored columns: %s") % ", ".join(plan.ignored_columns))
        for problem in plan.problems:
            mark = _("error") if problem.is_error else _("skipped")
            self.stdout.write(
                _("Line %(line)d (%(mark)s): %(message)s")
                % {"line": problem.line, "mark": mark, "message": problem.message}
            )
        self.stdout.write(
            _(
                "Rows: %(rows)d; to import: %(ok)d; already subscribed: %(active)d; left "
                "earlier: %(gone)d; duplicates: %(dup)d; not active in the file: %(inactive)d; "
                "invalid: %(invalid)d."
            )
            % {
                "rows": plan.data_rows,
                "ok": len(plan.rows),
                "active": plan.count("already_active"),
                "gone": plan.count("opted_out"),
                "dup": plan.count("duplicate"),
                "inactive": plan.count("not_active"),
                "invalid": plan.invalid_lines,
            }
        )
        window = importer.consent_window(plan)
        if window:
            self.stdout.write(
                _("Consent dates from %(first)s to %(last)s.")
                % {"first": f"{window[0]:%d/%m/%Y}", "last": f"{window[1]:%d/%m/%Y}"}
            )

    # --- export ---------------------------------------------------------------------

    def export(self, *, org, status, output, **_o):
        comune = organization(org)
        if not output:
            exporter.write_csv(comune, CommandOut(self.stdout), status)
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = exporter.write_csv(comune, out, status)
        except OSError as exc:
            raise CommandError(
                _("Can't write %(path)s: %(error)s") % {"path": output, "error": exc.strerror}
            ) from None
        self.stdout.write(
            _("Subscribers written to %(path)s: %(count)d.") % {"count": count, "path": output}
        )

    # --- one number -----------------------------------------------------------------

    def history(self, *, number: str, org, **_o):
        comune = organization(org)
        phone = e164(number)
        events = list(
            ConsentEvent.objects.filter(organization=comune, phone_hash=phone_hash(phone))
        )
        if not events:
            raise CommandError(
                _("No consent history for %(phone)s at %(comune)s.")
                % {"phone": phone, "comune": comune.name}
            )
        # Who looked at whose personal data is itself worth keeping (accountability).
        audit(comune, "subscriber.history_viewed", f"hash:{phone_hash(phone)[:12]}", label="cli")
        subscriber = Subscriber.objects.filter(organization=comune, phone=phone).first()
        erasures = [e for e in events if e.action == ConsentEvent.Action.ERASE]
        if subscriber is not None:
            state = _("%(status)s, subscribed on %(since)s") % {
                "status": subscriber.get_status_display(),
                "since": local(subscriber.subscribed_at),
            }
        elif erasures:
            state = _(
                "erased on %s: the number is no longer stored, what follows is the proof kept"
            ) % local(erasures[-1].occurred_at)
        else:
            state = _("no longer a subscriber")
        self.stdout.write(f"{phone} — {comune.name}: {state}")
        self.stdout.write(_("Times are local (%s).") % timezone.get_default_timezone_name())
        for e in events:
            parts = [
                local(e.occurred_at),
                e.get_action_display(),
                e.get_source_display(),
                _("notice v%s") % e.notice_version,
                _("topics: %s") % (", ".join(e.topics) or "-"),
                _("zone: %s") % (e.zone or "-"),
            ]
            if e.ip:
                parts.append(f"IP {e.ip}")
            if e.evidence:
                parts.append(_("evidence: %s") % evidence_summary(e.evidence))
            self.stdout.write("  " + " · ".join(str(p) for p in parts))

    def approve(self, *, number: str, org, **_o):
        comune = organization(org)
        phone = e164(number)
        change = service.approve(comune, phone, actor_label="cli")
        if change is not None:
            self.stdout.write(_("%s approved: now active.") % phone)
            return
        subscriber = Subscriber.objects.filter(organization=comune, phone=phone).first()
        if subscriber is None:
            message = _("%s has not signed up: nothing to approve.") % phone
        elif subscriber.status == S.ACTIVE:
            message = _("%s is already active: nothing to approve.") % phone
        elif subscriber.status == S.PENDING:
            message = (
                _(
                    "%s signed up on the web but has not proven the number from WhatsApp yet: "
                    "nothing to approve until then."
                )
                % phone
            )
        else:
            message = _("%(phone)s is %(status)s: nothing to approve.") % {
                "phone": phone,
                "status": subscriber.get_status_display(),
            }
        raise CommandError(message)

    def pending(self, *, org, **_o):
        comune = organization(org)
        waiting = (
            Subscriber.objects.filter(
                organization=comune, status=S.PENDING, confirmed_at__isnull=False
            )
            .select_related("zone")
            .prefetch_related("topics")
            .order_by("confirmed_at", "id")
        )
        count = 0
        for s in waiting.iterator(chunk_size=500):
            if not count:
                self.stdout.write(_("Waiting for approval (number, proven on, topics, zone):"))
            count += 1
            topics = ", ".join(t.name for t in s.topics.all()) or "-"
            zone = s.zone.name if s.zone_id else "-"
            name = f"  {s.name}" if s.name else ""
            self.stdout.write(f"  {s.phone}  {local(s.confirmed_at)}  {topics}  {zone}{name}")
        if not count:
            self.stdout.write(_("No numbers are waiting for approval."))
            return
        self.stdout.write(
            _("Waiting: %d. Approve with: banditore subscribers approve NUMBER") % count
        )

    def erase(self, *, number: str, org, yes, **_o):
        comune = organization(org)
        phone = e164(number)
        known = (
            Subscriber.objects.filter(organization=comune, phone=phone).exists()
            or ConsentEvent.objects.filter(organization=comune, phone=phone).exists()
        )
        if not known:
            erased = ConsentEvent.objects.filter(
                organization=comune, phone_hash=phone_hash(phone)
            ).exists()
            raise CommandError(
                (_("%s was already erased.") if erased else _("%s is not known to this comune."))
                % phone
            )
        if not yes and not self.confirm(
            _(
                "Erase %s? The number, its messages and its delivery records are deleted; "
                "only pseudonymised proof of consent is kept. [y/N] "
            )
            % phone
        ):
            self.stdout.write(_("Cancelled: nothing was erased."))
            return
        if not privacy.erase(comune, phone, actor_label="cli"):
            raise CommandError(_("%s is not known to this comune.") % phone)
        self.stdout.write(
            _("%(phone)s erased. Pseudonymised proof of consent is kept for %(days)d days.")
            % {"phone": phone, "days": comune.proof_retention_days}
        )

    def confirm(self, question: str) -> bool:
        self.stdout.write(question, ending="")
        self.stdout.flush()
        try:
            answer = input()
        except EOFError:
            return False
        return normalize(answer) in YES

    def export_data(self, *, number: str, org, **_o):
        comune = organization(org)
        phone = e164(number)
        subscriber = (
            Subscriber.objects.filter(organization=comune, phone=phone)
            .select_related("organization", "zone")
            .first()
        )
        if subscriber is None:
            erased = ConsentEvent.objects.filter(
                organization=comune, phone_hash=phone_hash(phone)
            ).exists()
            if erased:
                raise CommandError(
                    _(
                        "%s was erased: no personal data is left. The pseudonymised proof of "
                        "consent: banditore subscribers history NUMBER"
                    )
                    % phone
                )
            raise CommandError(_("%s is not known to this comune.") % phone)
        data = privacy.export_data(subscriber)
        audit(comune, "subscriber.data_exported", f"hash:{phone_hash(phone)[:12]}", label="cli")
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))


def evidence_summary(evidence: dict, width: int = 40) -> str:
    """`key=value` pairs, long values cut (hashes, raw messages)."""
    parts = []
    for key, value in evidence.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) > width and key != "import_batch":
            text = text[: width - 1] + "…"
        parts.append(f"{key}={text}")
    return ", ".join(parts)
