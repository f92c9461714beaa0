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
from functools import wraps
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from banditore.core.models import Organization
from banditore.public import archive, confirmation, notices
from banditore.public.addresses import page_url, single_organization
from banditore.public.confirmation import Ticket
from banditore.public.forms import SignupForm
from banditore.public.models import SignupAttempt
from banditore.subscribers import service
from banditore.subscribers.models import Subscriber

log = logging.getLogger(__name__)

S = Subscriber.Status
# At most this many sign-ups from one address in an hour: enough for a family on one
# connection, too few for a script filling the list with other people's numbers.
SIGNUPS_PER_IP_PER_HOUR = 5
RATE_WINDOW = timedelta(hours=1)
# The form's fields fill well under a kilobyte; this leaves room for many topics.
SIGNUP_MAX_BYTES = 16 * 1024
# What browsers send for a form; multipart too, as some do (and Django's test client).
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _organization_or_chooser(
    request: HttpRequest, slug: str | None, page: str
) -> tuple[Organization | None, HttpResponse | None]:
    """The comune of the page; on a bare address of a many-comuni installation, a list."""
    if slug is not None:
        return get_object_or_404(Organization, slug=slug), None
    if org := single_organization():
        return org, None
    organizations = Organization.objects.order_by("name")
    if not organizations.exists():
        raise Http404("no comune")
    choices = [(o, page_url(page, o.slug)) for o in organizations]
    return None, render(request, "public/choose.html", {"choices": choices})


def _base_context(org: Organization, slug: str | None, current: str = "") -> dict:
    return {
        "org": org,
        "org_slug": slug,
        "nav_current": current,
        "home_url": page_url("home", slug),
        "signup_url": page_url("signup", slug),
        "privacy_url": page_url("privacy", slug),
        "archive_url": page_url("archive", slug),
        "archive_feed_url": page_url("archive-rss", slug),
    }


def client_ip(request: HttpRequest) -> str | None:
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def address_block(ip: str | None) -> str:
    """What the limit counts as one address: an IPv4 address, or an IPv6 /64, since a
    single home or phone gets a whole /64 and picks any address in it at will."""
    if ip is None:
        return "unknown"
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 4:
        return str(address)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def _hold_address(block: str) -> None:
    """Sign-ups from one address wait for each other until the transaction ends, so the
    count below and the sign-up it lets through are one step, across processes and
    machines. SQLite needs nothing: its transactions take the write lock at BEGIN."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"banditore.signup:{block}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def over_rate_limit(block: str) -> bool:
    since = timezone.now() - RATE_WINDOW
    recent = SignupAttempt.objects.filter(block=block, at__gte=since)
    return recent.count() >= SIGNUPS_PER_IP_PER_HOUR


def _count_attempt(block: str) -> None:
    now = timezone.now()
    SignupAttempt.objects.filter(at__lt=now - RATE_WINDOW).delete()
    SignupAttempt.objects.create(block=block, at=now)


def _refused(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    log.info("sign-up form refused (%s) from %s", reason, client_ip(request))
    return render(request, "public/signup_refused.html", {"reason": reason}, status=status)


def _plain_form_only(view):
    """The form has no file field and a few short fields. A body larger than the form could
    ever be is refused before a byte of it is read; this runs before the CSRF check, which
    would read (and spool to disk) the whole body. A small multipart body is parsed in
    memory, and refused if it holds a file, before the form sees it."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            if request.content_type not in FORM_CONTENT_TYPES:
                return _refused(request, 415, "content_type")
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return _refused(request, 400, "size")
            if length > SIGNUP_MAX_BYTES:
                return _refused(request, 413, "size")
            if request.FILES:
                return _refused(request, 400, "files")
        return view(request, *args, **kwargs)

    return guarded


@csrf_exempt  # checked by csrf_protect inside, once the body is known to be small
@_plain_form_only
@csrf_protect
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "signup")
    if chooser:
        return chooser
    # The box the citizen ticks names the version in force: publish a changed text first.
    notices.current(org)
    context = _base_context(org, slug, "signup")
    if request.method == "POST":
        ip = client_ip(request)
        block = address_block(ip)
        with transaction.atomic():
            _hold_address(block)
            if over_rate_limit(block):
                context["number"] = confirmation.channel_number(org)
                response = render(request, "public/rate_limited.html", context, status=429)
                response["Retry-After"] = str(int(RATE_WINDOW.total_seconds()))
                return response
            form = SignupForm(request.POST, organization=org)
            if form.is_valid():
                _count_attempt(block)
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
    # Published first, so the consent event's version is this text's.
    in_force = notices.current(org)
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
            "notice_sha256": in_force.sha256,
            "language": get_language(),
        },
    )
    if not change.changed:
        # A number someone already holds (pending, active, gone): answer exactly as for a
        # new sign-up, so the form tells a stranger nothing, and change nothing. The owner
        # who sends the code from WhatsApp is told there what their number's state is; a
        # pending sign-up is proven by it with its first choices.
        return Ticket(
            subscriber_id=None,
            decoy_code=service.new_code(),
            last_digits=confirmation.last_digits(data["phone"]),
        )
    return Ticket(
        subscriber_id=change.subscriber.pk,
        already_active=False,
        last_digits=confirmation.last_digits(data["phone"]),
    )


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


def _signup_of(token: str, slug: str | None):
    """The comune, ticket and subscriber a confirmation token names; the ticket and the
    subscriber are None when the link is not valid (the comune too if it can't be told)."""
    ticket = confirmation.read_token(token)
    if slug is not None:
        org = get_object_or_404(Organization, slug=slug)
    else:
        org = single_organization()
        if org is None and ticket and ticket.subscriber_id:
            found = Subscriber.objects.filter(pk=ticket.subscriber_id).first()
            org = found.organization if found else None
    subscriber = confirmation.subscriber_for(ticket, org) if ticket and org else None
    if org is None or ticket is None or (subscriber is None and not ticket.decoy_code):
        return org, None, None
    return org, ticket, subscriber


@never_cache
@require_GET
def signup_done(request: HttpRequest, token: str, slug: str | None = None) -> HttpResponse:
    org, ticket, subscriber = _signup_of(token, slug)
    if ticket is None:
        context = _base_context(org, slug) if org else {}
        return render(request, "public/link_invalid.html", context, status=404)

    context = _base_context(org, slug)
    state = _state(ticket, subscriber)
    context["status_url"] = page_url("signup-status", slug, token)
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
    if state in ("active", "approval"):
        # Proven: the page's owner now sees what they will receive (what the form chose,
        # or what they have since changed from WhatsApp).
        context.update(
            chosen_topics=list(subscriber.topics.all()),
            chosen_zone=subscriber.zone,
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


@never_cache
@require_GET
def signup_status(request: HttpRequest, token: str, slug: str | None = None) -> JsonResponse:
    """What the confirmation page polls: only the state, which the page's owner already
    sees (a decoy's stays pending, like a real sign-up nobody confirms)."""
    org, ticket, subscriber = _signup_of(token, slug)
    if ticket is None:
        return JsonResponse({"state": "invalid"}, status=404)
    return JsonResponse({"state": _state(ticket, subscriber)})


@require_GET
def home(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "home")
    if chooser:
        return chooser
    context = _base_context(org, slug, "home")
    number = confirmation.channel_number(org)
    context.update(
        number=number,
        topics=org.topics.all(),
        latest=list(archive.published(org)[:3]),
    )
    if number:
        link = confirmation.whatsapp_link_for(number, confirmation.SIGNUP_KEYWORD)
        context.update(
            whatsapp_link=link,
            qr=mark_safe(
                confirmation.qr_svg(link, _("QR code that opens WhatsApp with the message"))
            ),
        )
    if bot := confirmation.telegram_link(org):
        context.update(
            telegram_link=bot,
            telegram_qr=mark_safe(
                confirmation.qr_svg(bot, _("QR code that opens the comune's Telegram bot"))
            ),
        )
    return render(request, "public/home.html", context)


@require_GET
def archive_list(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "archive")
    if chooser:
        return chooser
    query = archive.clean_query(request.GET.get("q", ""))
    topic_slug = request.GET.get("argomento", "")
    topic = archive.topic(org, topic_slug)
    if topic_slug and topic is None:
        raise Http404("no such topic")
    found = archive.search(org, query, topic)
    page = Paginator(found, archive.PAGE_SIZE).get_page(request.GET.get("pagina"))
    context = _base_context(org, slug, "archive")
    context.update(
        query=query,
        topic=topic,
        topics=org.topics.all(),
        page=page,
        page_query=_keep(query=query, topic=topic),
        rss_url=(
            page_url("archive-topic-rss", slug, topic.slug)
            if topic
            else page_url("archive-rss", slug)
        ),
        atom_url=(
            page_url("archive-topic-atom", slug, topic.slug)
            if topic
            else page_url("archive-atom", slug)
        ),
    )
    return render(request, "public/archive.html", context)


def _keep(query: str, topic) -> str:
    """The search's own parameters, for the pagination's links to keep."""
    params = {}
    if query:
        params["q"] = query
    if topic:
        params["argomento"] = topic.slug
    return urlencode(params)


@require_GET
def archive_message(request: HttpRequest, pk: int, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "archive")
    if chooser:
        return chooser
    message = archive.message(org, pk)
    if message is None:
        raise Http404("not in the archive")
    context = _base_context(org, slug, "archive")
    context.update(
        message=message,
        heading=archive.title_of(message),
        posts=archive.public_posts(message),
    )
    return render(request, "public/archive_message.html", context)


@require_GET
def privacy(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    org, chooser = _organization_or_chooser(request, slug, "privacy")
    if chooser:
        return chooser
    in_force = notices.current(org)
    shown = in_force
    asked = request.GET.get("versione", "")
    if asked and asked != str(in_force.version):
        shown = get_object_or_404(
            org.privacy_notices, version=int(asked) if asked.isdigit() else -1
        )
    if shown == in_force and get_language() != notices.BINDING_LANGUAGE:
        text, text_language = notices.rendered(org), get_language()
    else:
        text, text_language = shown.html, notices.BINDING_LANGUAGE
    context = _base_context(org, slug, "privacy")
    context.update(
        # Rendered by our template with autoescape on, so already safe.
        notice=mark_safe(text),
        notice_language=text_language,
        shown=shown,
        in_force=in_force,
        versions=org.privacy_notices.only("version", "published_at"),
    )
    return render(request, "public/privacy.html", context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A citizen whose form expired gets told what to do, in their language, not Django's
    developer page."""
    return render(request, "public/csrf_failure.html", {}, status=403)
