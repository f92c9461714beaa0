"""`banditore templates sync` (fetch every channel's templates from the provider now) and
`banditore templates list` (what each channel has, with status and category)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from banditore.channels import template_sync
from banditore.channels.base import TemplateSyncError
from banditore.channels.models import Channel, MessageTemplate


class Command(BaseCommand):
    help = "The channels' message templates: sync them from the provider, list them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("sync", "Fetch the templates now."), ("list", "List them.")):
            p = sub.add_parser(name, help=text)
            p.add_argument("--channel", type=int, help="only this channel id")

    def handle(self, *args, action, channel=None, **options):
        channels = Channel.objects.select_related("organization").order_by("id")
        if channel is not None:
            channels = channels.filter(pk=channel)
            if not channels.exists():
                raise CommandError(_("No channel %d.") % channel)
        return getattr(self, f"do_{action}")(channels)

    def do_sync(self, channels):
        failed = 0
        for channel in channels:
            try:
                counts = template_sync.sync(channel)
            except TemplateSyncError as exc:
                failed += 1
                self.stderr.write(
                    _("%(channel)s: not synced: %(error)s") % {"channel": channel, "error": exc}
                )
                continue
            self.stdout.write(
                _("%(channel)s: %(added)d new, %(changed)d changed, %(gone)d gone")
                % {"channel": channel, **counts}
            )
        if failed:
            raise CommandError(_("%d channels could not be synced.") % failed)

    def do_list(self, channels):
        for template in MessageTemplate.objects.filter(channel__in=channels).order_by(
            "channel_id", "name", "language"
        ):
            self.stdout.write(
                f"{template.channel_id:>4}  {template.name}:{template.language:<8} "
                f"{template.status:<10} {template.category:<14} {template.reason}"
            )
