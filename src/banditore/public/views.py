"""The citizens' pages: web sign-up, its confirmation page, the privacy notice.

Every page exists bare (`/iscriviti`, `/privacy`) for an installation with a single comune,
and under `/c/<slug>/` always.

The client's address is REMOTE_ADDR, recorded in the consent proof and used by the rate
limit. Behind a reverse proxy, the proxy must put the citizen's address there (for instance
a middleware that trusts X-Forwarded-For from the proxy alone); otherwise every citizen
shares the proxy's address, and with it the limit of sign-ups per hour.
"""

import hashlib
import ipaddress
import logging
from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from banditore.core.models import Organization
from banditore.public import confirmation
from banditore.public.confirmation import Ticket
from banditore.public.forms import SignupForm
from banditore.subscribers import privacy as subscriber_privacy
from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber

log = logging.getLogger(__name__)

S = Subscriber.Status
# At most this many sign-ups from one address in an hour: enough for a family on one
# connection, too few for a script filling the list with other people's numbers.
SIGNUPS_PER_IP_PER_HOUR = 5
RATE_WINDOW = timedelta(hours=1)


def page_url(name: str, slug: str | None, *args) -> str:
    """The same page under the prefix the citizen came in by."""
    if slug:
        return reverse(f"public:org-{name}", args=[slug, *args])
    return reverse(f"public:{name}", args=args)


def _only_organization() -> Organization | None:
    organizations = list(Organization.objects.order_by("id")[:2])
    return organizations[0] if len(organizations) == 1 else None


def _organization_or_chooser(
    request: HttpRequest, slug: str | None, page: str
) -> tuple[Organization | None, HttpResponse | None]:
    """The comune of the page; on a bare address of a many-comuni installation, a list."""
    if slug is not None:
        return get_object_or_404(Organization, slug=slug), None
    if org := _only_organization():
        return org, None
    organizations = Organization.objects.order_by("name")
    if not organizations.exists():
        raise Http404("no comune")
    choices = [(o, page_url(page, o.slug)) for o in organizations]
    return None, render(request, "public/choose.html", {"choices": choices})


def _base_context(org: Organization, slug: str | None) -> dict:
    return {
        "org": org,
        "signup_url": page_url("signup", slug),
        "privacy_url": page_url("privacy", slug),
    }


def client_ip(request: HttpRequest) -> str | None:
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def over_rate_limit(ip: str | None) -> bool:
    since = timezone.now() - RATE_WINDOW
    events = ConsentEvent.objects.filter(source=ConsentEvent.Source.WEB, occurred_at__gte=since)
    events = events.filter(ip=ip) if ip else events.filter(ip__isnull=True)
    return events.count() >= SIGNUPS_PER_IP_PER_HOUR


def notice(org: Organization) -> tuple[str, str]:
    """The privacy notice's text as shown, and its SHA-256, which the consent proof keeps."""
    html = render_to_string("public/_notice.html", _notice_context(org))
    return html, hashlib.sha256(html.encode()).hexdigest()


def _notice_context(org: Organization) -> dict:
    return {
        "org": org,
        "number": confirmation.channel_number(org),
        "unsubscribed_grace_days": subscriber_privacy.UNSUBSCRIBED_GRACE.days,
    }


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "signup")
    if chooser:
        return chooser
    context = _base_context(org, slug)
    if request.method == "POST":
        ip = client_ip(request)
        if over_rate_limit(ip):
            context["number"] = confirmation.channel_number(org)
            response = render(request, "public/rate_limited.html", context, status=429)
            response["Retry-After"] = str(int(RATE_WINDOW.total_seconds()))
            return response
        form = SignupForm(request.POST, organization=org)
        if form.is_valid():
            ticket = _sign_up(request, org, slug, form, ip)
            return redirect(page_url("signup-done", slug, confirmation.make_token(ticket)))
    else:
        form = SignupForm(organization=org)
    return render(request, "public/signup.html", {**context, "form": form})


def _sign_up(request, org: Organization, slug: str | None, form: SignupForm, ip) -> Ticket:
    data = form.cleaned_data
    if form.is_bot:
        # Answer as if it worked, so the program learns nothing; store nothing.
        log.info("honeypot filled on the sign-up form of %s from %s", org.slug, ip)
        return Ticket(
            subscriber_id=None,
            decoy_code=service.new_code(),
            last_digits=confirmation.last_digits(data["phone"]),
        )
    _, notice_sha256 = notice(org)
    change = service.request_web_signup(
        org,
        data["phone"],
        topics=list(data["topics"]),
        zone=data.get("zone"),
        name=data["name"].strip(),
        ip=ip,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        evidence={
            "form": "iscriviti",
            "page": request.path,
            "privacy_box_ticked": True,
            "notice_url": page_url("privacy", slug),
            "notice_sha256": notice_sha256,
            "language": get_language(),
        },
    )
    if not change.changed:
        # Already active: answer exactly as for a new sign-up, so the form never tells a
        # stranger who is on the list. The owner who sends the code from WhatsApp is told
        # there that they are already subscribed.
        return Ticket(
            subscriber_id=None,
            decoy_code=service.new_code(),
            last_digits=confirmation.last_digits(data["phone"]),
        )
    return Ticket(subscriber_id=change.subscriber.pk, already_active=False)


def _state(ticket: Ticket, subscriber: Subscriber | None) -> str:
    if confirmation.is_decoy(ticket):
        return "pending"
    if subscriber.status == S.ACTIVE:
        return "already" if ticket.already_active else "active"
    if subscriber.status == S.PENDING and subscriber.confirmed_at:
        return "approval"
    if subscriber.status == S.PENDING and subscriber.confirmation_code:
        return "pending"
    return "gone"


@never_cache
@require_GET
def signup_done(request: HttpRequest, token: str, slug: str | None = None) -> HttpResponse:
    ticket = confirmation.read_token(token)
    if slug is not None:
        org = get_object_or_404(Organization, slug=slug)
    else:
        org = _only_organization()
        if org is None and ticket and ticket.subscriber_id:
            found = Subscriber.objects.filter(pk=ticket.subscriber_id).first()
            org = found.organization if found else None
    subscriber = confirmation.subscriber_for(ticket, org) if ticket and org else None
    if org is None or ticket is None or (subscriber is None and not ticket.decoy_code):
        context = _base_context(org, slug) if org else {}
        return render(request, "public/link_invalid.html", context, status=404)

    context = _base_context(org, slug)
    state = _state(ticket, subscriber)
    code = ticket.decoy_code or (subscriber.confirmation_code if subscriber else "")
    number = confirmation.channel_number(org)
    context.update(
        state=state,
        code=code,
        message=confirmation.signup_message(code),
        number=number,
        last_digits=ticket.last_digits
        or (confirmation.last_digits(subscriber.phone) if subscriber else ""),
    )
    if state == "pending" and number:
        link = confirmation.whatsapp_link(number, code)
        context.update(
            whatsapp_link=link,
            # segno's own SVG markup; it escapes the title itself.
            qr=mark_safe(
                confirmation.qr_svg(link, _("QR code that opens WhatsApp with the message"))
            ),
        )
    return render(request, "public/signup_done.html", context)


@require_GET
def privacy(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "privacy")
    if chooser:
        return chooser
    html, sha256 = notice(org)
    context = _base_context(org, slug)
    # Rendered by our template with autoescape on, so already safe.
    context.update(notice=mark_safe(html), notice_sha256=sha256)
    return render(request, "public/privacy.html", context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A citizen whose form expired gets told what to do, in their language, not Django's
    developer page."""
    return render(request, "public/csrf_failure.html", {}, status=403)
