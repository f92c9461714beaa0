"""The privacy notice: rendered from the comune's facts (settings), published as numbered
versions. Whenever the rendered Italian text differs from the last published one (the comune
changed a fact, or an upgrade changed the wording) `current()` publishes the next version and
every consent event then names it (Organization.privacy_notice_version reads the last)."""

import hashlib

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.translation import override

from banditore.core.models import Organization, audit
from banditore.public import confirmation
from banditore.public.models import PrivacyNotice
from banditore.subscribers import privacy as subscriber_privacy

BINDING_LANGUAGE = "it"


def rendered(org: Organization) -> str:
    """The notice's text in the active language."""
    return render_to_string(
        "public/_notice.html",
        {
            "org": org,
            "number": confirmation.channel_number(org),
            "unsubscribed_grace_days": subscriber_privacy.UNSUBSCRIBED_GRACE.days,
        },
    )


def fingerprint(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()


def current(org: Organization, *, actor=None) -> PrivacyNotice:
    """The version in force, publishing a new one first if the text has changed."""
    with override(BINDING_LANGUAGE):
        html = rendered(org)
    sha = fingerprint(html)
    latest = org.privacy_notices.order_by("-version").first()
    if latest is not None and latest.sha256 == sha:
        return latest
    try:
        with transaction.atomic():
            notice = PrivacyNotice.objects.create(
                organization=org,
                version=(latest.version + 1) if latest else 1,
                html=html,
                sha256=sha,
            )
            audit(org, "privacy_notice.published", f"v{notice.version}", actor=actor, sha256=sha)
    except IntegrityError:
        # Another request published the same change a moment ago: that version stands.
        notice = org.privacy_notices.order_by("-version").first()
    return notice
