"""`banditore broadcast send|status`: the press office's main job from the command line."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from banditore.broadcasts import audience
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.channels.models import Channel
from banditore.core.management.comune import organization

PRIORITIES = {"normal": Priority.NORMAL, "urgent": Priority.URGENT, "emergency": Priority.EMERGENCY}
TEXT_MAX = 900  # fits the template's 1,024-character body with the comune's name around it


class Command(BaseCommand):
    help = "Send a broadcast, or show how its delivery is going."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="Send a message to every active subscriber.")
        send.add_argument("--text", required=True)
        send.add_argument("--title", default="")
        send.add_argument("--topic", action="append", default=[], help="topic keyword (repeatable)")
        send.add_argument("--priority", choices=list(PRIORITIES), default="normal")
        send.add_argument("--org", help="the comune's slug (needed only if there are several)")
        send.add_argument("--channel", type=int, help="channel id (default: the comune's first)")
        status = sub.add_parser("status", help="Counts per delivery status.")
        status.add_argument("broadcast_id", type=int)

    def handle(self, *args, action, **options):
        if action == "send":
            return self.send(**options)
        return self.status(options["broadcast_id"])

    def send(self, *, text, title, topic, priority, org, channel, **options):
        text = text.strip()
        if not text:
            raise CommandError(_("The text is empty."))
        if len(text) > TEXT_MAX:
            raise CommandError(
                _("The text is longer than %(max)d characters (%(len)d).")
                % {"max": TEXT_MAX, "len": len(text)}
            )
        comune = organization(org)
        channels = Channel.objects.filter(organization=comune)
        chosen = channels.filter(pk=channel).first() if channel else channels.order_by("id").first()
        if chosen is None:
            raise CommandError(_("The comune has no channel with that id."))
        topics = list(comune.topics.filter(slug__in=topic))
        unknown = set(topic) - {t.slug for t in topics}
        if unknown:
            known = ", ".join(comune.topics.values_list("slug", flat=True))
            raise CommandError(
                _("Unknown topic: %(unknown)s. Topics: %(known)s")
                % {"unknown": ", ".join(sorted(unknown)), "known": known}
            )
        broadcast = Broadcast.objects.create(
            organization=comune,
            channel=chosen,
            title=title,
            text=text,
            priority=PRIORITIES[priority],
        )
        broadcast.topics.set(topics)
        size = audience.start(broadcast, label="cli")
        self.stdout.write(
            _("Broadcast %(id)d is being sent to %(size)d subscribers.")
            % {"id": broadcast.pk, "size": size}
        )
        self.stdout.write(_("Progress: banditore broadcast status %d") % broadcast.pk)

    def status(self, broadcast_id: int):
        broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
        if broadcast is None:
            raise CommandError(_("No broadcast %d.") % broadcast_id)
        self.stdout.write(
            _("Broadcast %(id)d: %(status)s")
            % {"id": broadcast.pk, "status": broadcast.get_status_display()}
        )
        self.stdout.write(_("Recipients: %d") % broadcast.audience_size)
        for status, count in audience.status_counts(broadcast).items():
            self.stdout.write(f"  {Delivery.Status(status).label:<14} {count:>8}")
