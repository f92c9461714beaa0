from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from banditore.core.demo import OPERATOR, ensure_demo


class Command(BaseCommand):
    help = "Create the demo comune (channel on the sandbox, topics, operator account)."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", default="http://127.0.0.1:8650")

    def handle(self, *args, sandbox_url, **options):
        channel, password = ensure_demo(sandbox_url)
        self.stdout.write(
            _("Demo comune: %(org)s (channel %(id)d)")
            % {"org": channel.organization, "id": channel.pk}
        )
        self.stdout.write(_("Operator: %(user)s / %(pw)s") % {"user": OPERATOR, "pw": password})
