"""Which comune a public address is about, and the addresses of its pages.

Every page exists bare for an installation with a single comune, and under /c/<slug>/
always; links keep to the form the citizen came in by."""

from django.urls import reverse

from banditore.core.models import Organization


def page_url(name: str, slug: str | None, *args) -> str:
    """The same page under the prefix the citizen came in by."""
    if slug:
        return reverse(f"public:org-{name}", args=[slug, *args])
    return reverse(f"public:{name}", args=args)


def single_organization() -> Organization | None:
    """The installation's comune when it has exactly one: the bare addresses are its."""
    organizations = list(Organization.objects.order_by("id")[:2])
    return organizations[0] if len(organizations) == 1 else None
