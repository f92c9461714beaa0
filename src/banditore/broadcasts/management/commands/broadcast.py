"""The press office's job from the command line: `banditore broadcast create`, `submit`,
`approve`, `schedule`, `send`, `pause`, `resume`, `cancel`, `status`, `test`, `export`, each
the same lifecycle call the API makes."""

import csv
import datetime
import os
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from banditore.broadcasts import attachments, cost, lifecycle, templating
from banditore.broadcasts.lifecycle import Actor, Refused
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.broadcasts.progress import describe as describe_progress
from banditore.broadcasts.progress import progress
from banditore.core.management.comune import organization
from banditore.core.spreadsheet import BOM, CommandOut, defused

PRIORITIES = {"normal": Priority.NORMAL, "urgent": Priority.URGENT, "emergency": Priority.EMERGENCY}
# The IT office's own tool: it may do what an administrator may.
CLI = Actor("cli", may_send_emergency_alone=True, may_override_budget=True)

# Excel opens it as it is: BOM, ';', Italian headers (as `subscribers export`).
EXPORT_HEADER = [
    "numero", "stato", "codice_errore", "errore", "motivo_scarto", "inviato_il",
    "consegnato_il", "letto_il",
]  # fmt: skip


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(_("--param takes NAME=VALUE, e.g. 1=Viabilità: %s") % pair)
        params[name.strip()] = value
    return params


class Command(BaseCommand):
    help = "The press office's broadcasts: compose, approve, schedule, send, follow, export."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        def command(name: str, help: str, with_id: bool = True):
            p = sub.add_parser(name, help=help)
            if with_id:
                p.add_argument("broadcast_id", type=int, nargs="?" if name == "send" else None)
            p.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this operator")
            return p

        def content(p, required: bool):
            p.add_argument("--text", required=required)
            p.add_argument("--title", default="")
            p.add_argument("--topic", action="append", default=[], help="topic slug (repeatable)")
            p.add_argument("--zone", action="append", default=[], help="zone slug (repeatable)")
            p.add_argument("--priority", choices=list(PRIORITIES), default="normal")
            p.add_argument("--org", help="the comune's slug (needed only if there are several)")
            p.add_argument("--channel", type=int, help="channel id (default: the comune's first)")
            p.add_argument(
                "--template", help="NAME or NAME:LANGUAGE (default: the channel's default)"
            )
            p.add_argument(
                "--param",
                action="append",
                default=[],
                metavar="NAME=VALUE",
                help="a template placeholder's value, e.g. 1=Viabilità (repeatable)",
            )

        content(command("create", "Write a draft.", with_id=False), required=True)
        command("submit", "Ask for approval (approved at once where nobody else must).")
        command("approve", "Approve someone else's broadcast.")
        command("withdraw", "Back to a draft, to change it (approval is given again).")
        sched = command("schedule", "Send at a moment (the comune's local time).")
        sched.add_argument("--at", required=True, help="YYYY-MM-DD HH:MM")
        send = command("send", "Send now: a broadcast by id, or a new one with --text.")
        content(send, required=False)
        send.add_argument("--override-budget", action="store_true")
        command("pause", "Stop a broadcast that is sending; resume continues it.")
        command("resume", "Continue a paused broadcast.")
        command("cancel", "Cancel: what is still queued is dropped.")
        command("status", "Counts per delivery status.")
        test = command("test", "Send the message as it will look to the given numbers.")
        test.add_argument("numbers", nargs="+")
        command("export", "Per-recipient outcomes as CSV (Excel).")
        command("review", "Review an emergency sent on one person's decision.")
        attach = command("attach", "Attach an image (JPEG, PNG) or a PDF to a draft.")
        attach.add_argument("path", help="the file; its name is what a citizen sees for a PDF")
        command("detach", "Remove a draft's attachment.")

    def handle(self, *args, action, **options):
        self.actor = self._actor(options.pop("as_user", None))
        try:
            return getattr(self, f"do_{action}")(**options)
        except Refused as refused:
            raise CommandError(refused.message) from None

    def _actor(self, username: str | None) -> Actor:
        if not username:
            return CLI
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        if person is None:
            raise CommandError(_("No active operator %s.") % username)
        return Actor.for_user(person)

    def _broadcast(self, broadcast_id: int) -> Broadcast:
        broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
        if broadcast is None:
            raise CommandError(_("No broadcast %d.") % broadcast_id)
        return broadcast

    def _create(
        self, *, text, title, topic, zone, priority, org, channel, template, param, **_o
    ) -> Broadcast:
        return lifecycle.create(
            organization(org), self.actor, text=text, title=title, topics=topic, zones=zone,
            priority=PRIORITIES[priority], channel=channel, template=template,
            template_params=_params(param),
        )  # fmt: skip

    def _said(self, broadcast: Broadcast) -> None:
        self.stdout.write(
            _("Broadcast %(id)d: %(status)s")
            % {"id": broadcast.pk, "status": broadcast.get_status_display()}
        )

    def _estimate(self, broadcast: Broadcast) -> None:
        # What it will cost and take, read before it is submitted.
        self.stdout.write(cost.describe(cost.estimate(broadcast)))

    def do_create(self, **options):
        broadcast = self._create(**options)
        self.stdout.write(_("Draft %d saved.") % broadcast.pk)
        self._estimate(broadcast)

    def do_submit(self, *, broadcast_id, **_o):
        broadcast = self._broadcast(broadcast_id)
        self._estimate(broadcast)
        broadcast = lifecycle.submit(broadcast, self.actor)
        if broadcast.status == Broadcast.Status.SUBMITTED:
            self._waits(broadcast)
        else:
            self._said(broadcast)

    def _waits(self, broadcast: Broadcast) -> None:
        self.stdout.write(
            _("Broadcast %(id)d waits for a second person's approval: banditore broadcast "
              "approve %(id)d")
            % {"id": broadcast.pk}
        )  # fmt: skip

    def do_approve(self, *, broadcast_id, **_o):
        self._said(lifecycle.approve(self._broadcast(broadcast_id), self.actor))

    def do_withdraw(self, *, broadcast_id, **_o):
        self._said(lifecycle.withdraw(self._broadcast(broadcast_id), self.actor))

    def do_schedule(self, *, broadcast_id, at, **_o):
        broadcast = self._broadcast(broadcast_id)
        zone = ZoneInfo(broadcast.organization.time_zone)
        try:
            moment = datetime.datetime.fromisoformat(at)
        except ValueError:
            raise CommandError(_("Not a date and time: %s (YYYY-MM-DD HH:MM).") % at) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        broadcast = lifecycle.schedule(broadcast, self.actor, at=moment)
        self.stdout.write(
            _("Broadcast %(id)d will be sent on %(at)s.")
            % {"id": broadcast.pk, "at": moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")}
        )

    def do_send(self, *, broadcast_id, override_budget, text, **options):
        if (broadcast_id is None) == (text is None):
            raise CommandError(_("Give either a broadcast id or --text."))
        if text is not None:
            # Write and send in one go; where a second person must approve, it waits (an
            # emergency goes at once if this actor may send one alone).
            broadcast = self._create(text=text, **options)
            alone = broadcast.priority == Priority.EMERGENCY and self.actor.may_send_emergency_alone
            if broadcast.organization.require_broadcast_approval and not alone:
                self._waits(lifecycle.submit(broadcast, self.actor))
                return
        else:
            broadcast = self._broadcast(broadcast_id)
        broadcast = lifecycle.send(broadcast, self.actor, override_budget=override_budget)
        self.stdout.write(
            _("Broadcast %(id)d is being sent to %(size)d subscribers.")
            % {"id": broadcast.pk, "size": broadcast.audience_size}
        )
        if broadcast.review_required:
            self.stdout.write(_("Sent on one person's decision: a second person reviews it."))
        self.stdout.write(_("Progress: banditore broadcast status %d") % broadcast.pk)

    def do_pause(self, *, broadcast_id, **_o):
        self._said(lifecycle.pause(self._broadcast(broadcast_id), self.actor))

    def do_resume(self, *, broadcast_id, **_o):
        self._said(lifecycle.resume(self._broadcast(broadcast_id), self.actor))

    def do_cancel(self, *, broadcast_id, **_o):
        self._said(lifecycle.cancel(self._broadcast(broadcast_id), self.actor))

    def do_review(self, *, broadcast_id, **_o):
        broadcast = lifecycle.review(self._broadcast(broadcast_id), self.actor)
        self.stdout.write(_("Broadcast %d reviewed.") % broadcast.pk)

    def do_attach(self, *, broadcast_id, path, **_o):
        broadcast = self._broadcast(broadcast_id)
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as file:
                head = file.read(attachments.HEAD_BYTES)
                if size > attachments.largest():
                    attachments.check(head, size)  # refused without reading it all
                content = head + file.read()
        except OSError as exc:
            raise CommandError(
                _("Can't read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}
            ) from None
        media = attachments.attach(broadcast, self.actor, content=content, filename=path)
        self.stdout.write(
            _("Broadcast %(id)d: attached %(name)s (%(type)s, %(size)s).")
            % {"id": broadcast.pk, "name": media.filename, "type": media.mime_type,
               "size": attachments.size_text(media.size)}
        )  # fmt: skip

    def do_detach(self, *, broadcast_id, **_o):
        broadcast = self._broadcast(broadcast_id)
        if attachments.detach(broadcast, self.actor):
            self.stdout.write(_("Broadcast %d: attachment removed.") % broadcast.pk)
        else:
            self.stdout.write(_("Broadcast %d has no attachment.") % broadcast.pk)

    def do_test(self, *, broadcast_id, numbers, **_o):
        sent = lifecycle.test_send(self._broadcast(broadcast_id), self.actor, numbers)
        self.stdout.write(_("Test queued to %d numbers.") % sent)

    def do_status(self, *, broadcast_id, **_o):
        broadcast = self._broadcast(broadcast_id)
        self._said(broadcast)
        if broadcast.paused_reason:
            self.stdout.write(_("Paused because: %s") % broadcast.paused_reason)
        template = templating.template_of(broadcast)
        if template is not None:
            self.stdout.write(
                _("Template: %(template)s (%(category)s, %(status)s)")
                % {"template": template, "category": template.category, "status": template.status}
            )
        self.stdout.write(_("Recipients: %d") % broadcast.audience_size)
        now = progress(broadcast)
        for status, count in now.counts.items():
            self.stdout.write(f"  {Delivery.Status(status).label:<14} {count:>8}")
        for line in describe_progress(now, broadcast.organization.time_zone):
            self.stdout.write(line)
        steps = [
            (_("written by"), broadcast.created_by_label, broadcast.created_at),
            (_("submitted by"), broadcast.submitted_by_label, broadcast.submitted_at),
            (_("approved by"), broadcast.approved_by_label, broadcast.approved_at),
            (_("sent by"), broadcast.started_by_label, broadcast.started_at),
            (_("paused by"), broadcast.paused_by_label, broadcast.paused_at),
            (_("cancelled by"), broadcast.cancelled_by_label, broadcast.cancelled_at),
            (_("reviewed by"), broadcast.reviewed_by_label, broadcast.reviewed_at),
        ]
        zone = ZoneInfo(broadcast.organization.time_zone)
        for what, who, when in steps:
            if who:
                at = when.astimezone(zone).strftime("%d/%m/%Y %H:%M") if when else ""
                self.stdout.write(f"{what}: {who} {at}".rstrip())
        if broadcast.review_required and not broadcast.reviewed_at:
            self.stdout.write(_("Sent on one person's decision: a second person reviews it."))
        if broadcast.budget_override_by:
            self.stdout.write(_("Budget exceeded, allowed by %s.") % broadcast.budget_override_by)
        if broadcast.started_at is None and broadcast.status in lifecycle.NOT_STARTED:
            self._estimate(broadcast)
        elif broadcast.estimated_cost is not None:
            self.stdout.write(_("Estimated cost: € %s") % cost.money(broadcast.estimated_cost))
        if broadcast.billable_count is not None:
            self.stdout.write(_("Paid messages: %d") % broadcast.billable_count)

    def do_export(self, *, broadcast_id, **_o):
        broadcast = self._broadcast(broadcast_id)
        zone = ZoneInfo(broadcast.organization.time_zone)

        def local(value) -> str:
            return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""

        out = CommandOut(self.stdout)
        out.write(BOM)
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(EXPORT_HEADER)
        for row in lifecycle.outcomes(broadcast):
            writer.writerow(
                [
                    row["phone"], row["status"],
                    "" if row["error_code"] is None else row["error_code"],
                    defused(row["error_title"]), row["skip_reason"], local(row["sent_at"]),
                    local(row["delivered_at"]), local(row["read_at"]),
                ]
            )  # fmt: skip
