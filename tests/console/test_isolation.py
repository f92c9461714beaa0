"""Nothing of one comune shows in another's console. Every console URL is driven from the
resolver, so a new page that forgets to scope by comune fails here: one carrying comune A's
ids answers 404 to B's staff (or 403 where the role lacks the capability), and B's lists,
exports, dashboard and chart carry none of A's numbers, titles or names."""

import json
import re
from datetime import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from banditore.broadcasts import lifecycle, scheduling
from banditore.broadcasts.models import Broadcast
from banditore.console.broadcasts import ACTIONS
from banditore.console.models import PendingImport
from banditore.core.models import AuditEvent, Operator, audit
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import InboundMessage
from tests.console.helpers import member
from tests.console.test_staff_subscribers import CLEAN_CSV, token_of, upload
from tests.factories import channel_of, make_comune, subscribe

R = Operator.Role
ROLES = [R.EDITOR, R.APPROVER, R.CIVIL_PROTECTION, R.ADMIN]
# Pages that are not a comune's data: signing in and out, the second factor.
NOT_DATA = {"login", "logout"}


def office(org, tag: str, digit: str) -> dict:
    """A comune with staff of every role and one of each kind of thing the console shows;
    `markers` are strings only this comune's pages may contain."""
    channel = channel_of(org)
    channel.name = f"Canale-{tag}"
    channel.save(update_fields=["name"])
    clients = {role: member(org, f"{tag}-{role}", role) for role in ROLES}
    clients["reader"] = member(org, f"{tag}-lettore", R.EDITOR, reads_inbound=True)
    subscriber = subscribe(org, f"+3933370000{digit}1")
    subscribe(org, f"+3933370000{digit}2")
    admin_user = clients[R.ADMIN][1]
    broadcast = lifecycle.create(
        org,
        lifecycle.Actor(admin_user.username, user=admin_user),
        title=f"Titolo-{tag}",
        text=f"Testo del messaggio {tag}",
    )
    InboundMessage.objects.create(
        organization=org,
        channel=channel,
        subscriber=subscriber,
        sender=subscriber.phone,
        wamid=f"wamid.{tag}",
        type="text",
        text=f"Scritto-da-{tag}",
        sent_at=timezone.make_aware(datetime(2026, 3, 1, 9, 0)),
        handling=InboundMessage.Handling.IGNORED,
    )
    audit(org, "test.marker", f"Bersaglio-{tag}", actor=admin_user)
    slot = scheduling.create_slot(org, f"Fascia-{tag}", 3, datetime(2026, 1, 1, 10, 0).time())
    return {
        "org": org,
        "clients": {role: client for role, (client, _) in clients.items()},
        "users": {role: user for role, (_, user) in clients.items()},
        "subscriber": subscriber,
        "broadcast": broadcast,
        "channel": channel,
        "slot": slot,
        "markers": {
            "number": subscriber.phone,
            "title": f"Titolo-{tag}",
            "inbound": f"Scritto-da-{tag}",
            "audit": f"Bersaglio-{tag}",
            "slot": f"Fascia-{tag}",
            "user": f"{tag}-{R.EDITOR}",
            "channel": f"Canale-{tag}",
        },
    }


@pytest.fixture
def two(comune):
    return office(comune, "pordenone", "1"), office(make_comune(slug="sacile"), "sacile", "2")


def console_patterns():
    """(name, parameter names) of every URL in the console namespace, includes and all."""
    console = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "console"
    )
    found = []

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                found.append((p.name, set(p.pattern.converters)))

    walk(console.url_patterns)
    return found


def urls_with_ids(a) -> dict[str, list[str]]:
    """Each console page that names an object, filled with comune A's."""
    broadcast = {"pk": a["broadcast"].pk}
    member_of_a = {"pk": a["users"][R.EDITOR].operator.pk}
    fill = {
        "broadcast": [broadcast],
        "broadcast_edit": [broadcast],
        "broadcast_progress": [broadcast],
        "broadcast_test": [broadcast],
        "broadcast_cancel": [broadcast],
        "broadcast_outcomes": [broadcast],
        "broadcast_act": [{**broadcast, "action": action} for action in ACTIONS],
        "subscriber": [{"pk": a["subscriber"].pk}],
        "subscriber_erase": [{"pk": a["subscriber"].pk}],
        "settings_channel": [{"pk": a["channel"].pk}],
        "settings_slot_toggle": [{"pk": a["slot"].pk}],
        "user_change": [member_of_a],
        "user_deactivate": [member_of_a],
    }
    urls = {}
    for name, params in console_patterns():
        if not params:
            continue
        assert name in fill, f"console:{name} takes {params}: add it to the isolation test"
        urls[name] = [reverse(f"console:{name}", kwargs=kwargs) for kwargs in fill[name]]
    return urls


def state_of(a):
    """What B's staff must not be able to change about A."""
    org = a["org"]
    editor = Operator.objects.select_related("user").get(pk=a["users"][R.EDITOR].operator.pk)
    channel = channel_of(org)
    a["slot"].refresh_from_db()
    return {
        "broadcast": Broadcast.objects.filter(pk=a["broadcast"].pk).values().get(),
        "subscribers": sorted(
            Subscriber.objects.filter(organization=org).values_list("phone", "status")
        ),
        "editor": (editor.role, editor.reads_inbound, editor.user.is_active),
        "channel": (channel.name, channel.config),
        "slot": a["slot"].active,
        "audit": AuditEvent.objects.filter(organization=org).count(),
    }


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def test_another_comunes_ids_are_not_found(two):
    a, b = two
    urls = urls_with_ids(a)
    before = state_of(a)
    for name, addresses in urls.items():
        for url in addresses:
            for role, client in b["clients"].items():
                for method in ("get", "post"):
                    status = getattr(client, method)(url).status_code
                    allowed = {404, 405} if role == R.ADMIN else {403, 404, 405}
                    assert status in allowed, (name, url, role, method, status)
                # B's amministratore may do everything: only a 404 can stop them.
                if role == R.ADMIN:
                    statuses = {client.get(url).status_code, client.post(url).status_code}
                    assert 404 in statuses, (name, url, statuses)
    assert state_of(a) == before
    # The same addresses do reach A's objects for A's own amministratore.
    mine = a["clients"][R.ADMIN]
    for name, addresses in urls.items():
        for url in addresses:
            statuses = {mine.get(url).status_code, mine.post(url).status_code}
            assert statuses - {404, 405}, (name, url, statuses)


def test_lists_exports_and_the_dashboard_show_only_ones_own(two):
    a, b = two
    pages = []
    for name, params in console_patterns():
        if not params and name not in NOT_DATA:
            pages.append(reverse(f"console:{name}"))
    pages += [
        reverse("console:subscribers_export") + "?status=all",
        reverse("console:subscribers") + "?number=33370000",
    ]
    seen = {}
    for role in (R.ADMIN, "reader", R.APPROVER):
        for url in pages:
            response = b["clients"][role].get(url)
            if response.status_code != 200:
                continue
            text = body(response)
            for kind, marker in a["markers"].items():
                assert marker not in text, (url, role, kind)
            seen[url] = seen.get(url, "") + text
    everything = "".join(seen.values())
    # The pages do show these kinds of things: B's own are there.
    for kind, marker in b["markers"].items():
        assert marker in everything, kind
    series = json.loads(b["clients"][R.ADMIN].get(reverse("console:subscribers_series")).content)
    assert series["active"][-1] == Subscriber.objects.filter(organization=b["org"]).count()


def test_another_comunes_upload_cannot_be_applied(two):
    a, b = two
    token = token_of(upload(a["clients"][R.ADMIN], CLEAN_CSV))
    response = b["clients"][R.ADMIN].post(
        reverse("console:subscribers_import_apply"), {"token": token}
    )
    assert response.status_code == 302
    assert not Subscriber.objects.filter(phone="+393339135528").exists()
    assert PendingImport.objects.filter(token=token, organization=a["org"]).exists()


def test_console_staff_do_not_reach_the_django_admin(two):
    _, b = two
    for role, client in b["clients"].items():
        response = client.get("/admin/subscribers/subscriber/")
        assert response.status_code == 302 and response.url.startswith("/admin/login/"), role


def test_no_console_form_posts_a_number_or_a_status(two):
    """A number and its status change only through the subscription services (the
    citizen's own messages, erasure, import): no page of the console has a field for them."""
    a, _ = two
    urls = [u for addresses in urls_with_ids(a).values() for u in addresses]
    urls += [reverse(f"console:{n}") for n, p in console_patterns() if not p and n not in NOT_DATA]
    admin = a["clients"][R.ADMIN]
    checked = 0
    for url in urls:
        response = admin.get(url)
        if response.status_code != 200 or response.streaming:
            continue
        html = response.content.decode()
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S | re.I):
            checked += 1
            assert not re.search(r'name="[\w-]*(status|phone)"', form), url
    assert checked > 10
