"""`banditore apikey create|list|revoke`: the IT office's keys for other systems."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banditore.api import keys
from banditore.api.models import SCOPES, ApiKey
from banditore.core.management.comune import organization


class Command(BaseCommand):
    help = "Create, list or revoke the comune's API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="A new key; its secret is shown once.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scope", action="append", choices=SCOPES, required=True, help="repeatable"
        )
        create.add_argument("--test", action="store_true", help="a test key: reaches no citizen")
        listing = sub.add_parser("list", help="The keys, revoked ones included.")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix")
        for parser_ in (create, listing, revoke):
            parser_.add_argument(
                "--org", help="the comune's slug (needed only if there are several)"
            )

    def handle(self, *args, action, **options):
        comune = organization(options["org"])
        getattr(self, action)(comune, **options)

    def create(self, comune, *, name, scope, test, **options):
        if ApiKey.objects.filter(organization=comune, name=name, revoked_at__isnull=True).exists():
            raise CommandError(_("A key named %s already exists.") % name)
        key, secret = keys.issue(comune, name, scope, test=test)
        self.stdout.write(
            _("API key %(name)s (%(kind)s) for %(comune)s, scopes: %(scopes)s")
            % {
                "name": key.name,
                "kind": key.get_kind_display(),
                "comune": comune.name,
                "scopes": ", ".join(key.scopes),
            }
        )
        self.stdout.write(_("Secret (shown only now, keep it safe):"))
        self.stdout.write(secret)

    def list(self, comune, **options):
        for key in ApiKey.objects.filter(organization=comune).order_by("id"):
            state = (
                pgettext("api key", "revoked") if key.revoked_at else pgettext("api key", "active")
            )
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-"
            self.stdout.write(
                f"{key.prefix}…  {key.name:<24} {key.kind:<4} {state:<8} {used:<16} "
                f"{' '.join(key.scopes)}"
            )

    def revoke(self, comune, *, prefix, **options):
        found = ApiKey.objects.filter(organization=comune, prefix=prefix, revoked_at__isnull=True)
        if found.count() != 1:
            raise CommandError(_("No single active key with prefix %s.") % prefix)
        found.update(revoked_at=timezone.now())
        self.stdout.write(_("Key %s revoked.") % prefix)
