"""Which comune a management command acts on: every app's commands share the `--org` rule."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from banditore.core.models import Organization


def organization(slug: str | None) -> Organization:
    """The comune named by `--org`, or the only one there is."""
    orgs = Organization.objects.all()
    if slug:
        orgs = orgs.filter(slug=slug)
    found = list(orgs[:2])
    if len(found) != 1:
        raise CommandError(
            _("Several comuni: choose one with --org <slug>.")
            if found
            else _("No comune is set up.")
        )
    return found[0]
