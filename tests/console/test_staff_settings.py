"""The settings page: texts previewed and audited, sending rules checked, digest slots,
channel credentials that can be replaced but never read back; and what citizens wrote,
only for those who may read it."""

import json
from datetime import datetime, time

import pytest
from django.db import connection
from django.utils import timezone

from banditore.broadcasts.slots import DigestSlot
from banditore.channels import registry
from banditore.console.staff_forms import OrganizationSettings
from banditore.core.demo import SANDBOX
from banditore.core.models import AuditEvent, Operator
from banditore.webhooks.models import InboundMessage
from tests.console.helpers import member
from tests.factories import channel_of, subscribe

R = Operator.Role


@pytest.fixture
def admin(comune):
    return member(comune, "sindaca", R.ADMIN)[0]


def settings_data(org, **changes):
    """The settings form as the page would post it, unchanged but for `changes`."""
    form = OrganizationSettings(instance=org)
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        if value is None or value is False:
            continue  # an unticked box is not posted
        if value is True:
            data[name] = "on"
        elif isinstance(value, time):
            data[name] = f"{value:%H:%M}"
        else:
            data[name] = str(value)
    return {**data, **changes}


def raw_config(channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_channel WHERE id = %s", [channel.pk])
        value = cursor.fetchone()[0]
    return value if isinstance(value, str) else json.dumps(value)


def test_the_texts_are_saved_audited_and_previewed(comune, admin):
    response = admin.post(
        "/console/impostazioni/",
        settings_data(comune, welcome_text="Benvenuti nel canale di {name}!"),
    )
    assert response.status_code == 302
    comune.refresh_from_db()
    assert comune.welcome_text == "Benvenuti nel canale di {name}!"
    event = AuditEvent.objects.get(action="settings.changed")
    assert event.data["fields"] == ["welcome_text"] and event.actor.username == "sindaca"
    page = admin.get("/console/impostazioni/").content.decode()
    preview = page.split('id="preview-welcome_text" aria-live="polite">', 1)[1].split("</p>", 1)[0]
    assert preview == "Benvenuti nel canale di Comune di Pordenone!"


def test_a_changed_dpo_publishes_the_next_privacy_notice_in_the_admins_name(comune, admin):
    from banditore.public import notices

    first = notices.current(comune)
    admin.post("/console/impostazioni/", settings_data(comune, dpo_contact="rpd@nuovo.example"))
    latest = comune.privacy_notices.order_by("-version").first()
    assert latest.version == first.version + 1 and "rpd@nuovo.example" in latest.html
    published = AuditEvent.objects.get(action="privacy_notice.published", target="v2")
    assert published.actor.username == "sindaca"


def test_saving_nothing_new_audits_nothing(comune, admin):
    admin.post("/console/impostazioni/", settings_data(comune))
    assert not AuditEvent.objects.filter(action="settings.changed").exists()


def test_a_window_ending_before_it_starts_is_refused(comune, admin):
    before = (comune.send_window_start, comune.send_window_end)
    response = admin.post(
        "/console/impostazioni/",
        settings_data(
            comune,
            send_window_start="20:00",
            send_window_end="08:00",
            goodbye_text="Arrivederci da {name}",
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The window must end after it starts." in page
    # The preview shows what was typed, so the operator sees it before it is saved.
    assert "Arrivederci da Comune di Pordenone" in page
    comune.refresh_from_db()
    assert (comune.send_window_start, comune.send_window_end) == before
    assert not AuditEvent.objects.filter(action="settings.changed").exists()


def test_credentials_are_write_only(comune, admin):
    channel = channel_of(comune)
    page = admin.get("/console/impostazioni/").content.decode()
    for key in registry.of(channel).secrets:
        assert SANDBOX[key] not in page
    url = f"/console/impostazioni/canale/{channel.pk}/"
    prefix = f"channel{channel.pk}"
    response = admin.post(
        url,
        {f"{prefix}-access_token": "new-token-Noncello", f"{prefix}-app_secret": ""},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.config["access_token"] == "new-token-Noncello"
    # An empty field keeps what was there.
    assert channel.config["app_secret"] == SANDBOX["app_secret"]
    assert "new-token-Noncello" not in raw_config(channel)
    event = AuditEvent.objects.get(action="channel.credentials_changed")
    assert event.data == {"keys": ["access_token"]}
    assert "new-token-Noncello" not in json.dumps(event.data)
    page = admin.get("/console/impostazioni/").content.decode()
    assert "new-token-Noncello" not in page and SANDBOX["app_secret"] not in page


def test_empty_credentials_change_nothing(comune, admin):
    channel = channel_of(comune)
    admin.post(f"/console/impostazioni/canale/{channel.pk}/", {})
    channel.refresh_from_db()
    assert channel.config["access_token"] == SANDBOX["access_token"]
    assert not AuditEvent.objects.filter(action="channel.credentials_changed").exists()


def test_digest_slots_are_added_and_switched(comune, admin):
    response = admin.post(
        "/console/impostazioni/fasce/", {"name": "Giovedì", "weekday": 3, "time": "10:00"}
    )
    assert response.status_code == 302
    slot = DigestSlot.objects.get(organization=comune)
    assert (slot.name, slot.weekday, slot.active) == ("Giovedì", 3, True)
    local = timezone.localtime(slot.next_run_at)
    assert (local.weekday(), local.hour, local.minute) == (3, 10, 0)
    assert AuditEvent.objects.filter(action="slot.created", target="Giovedì").exists()
    admin.post(f"/console/impostazioni/fasce/{slot.pk}/")
    slot.refresh_from_db()
    assert not slot.active
    assert AuditEvent.objects.get(action="slot.changed").data == {"active": False}
    refused = admin.post("/console/impostazioni/fasce/", {"name": "", "weekday": 9, "time": "x"})
    assert refused.status_code == 200 and DigestSlot.objects.count() == 1


@pytest.mark.parametrize("role", [R.EDITOR, R.APPROVER, R.CIVIL_PROTECTION])
def test_other_roles_get_no_settings(comune, role):
    client, _ = member(comune, "qualcuno", role)
    channel = channel_of(comune)
    for url in ("/console/impostazioni/", "/console/utenti/", "/console/registro/"):
        assert client.get(url).status_code == 403, url
    prefix = f"channel{channel.pk}"
    posted = client.post(
        f"/console/impostazioni/canale/{channel.pk}/", {f"{prefix}-access_token": "x"}
    )
    assert posted.status_code == 403
    channel.refresh_from_db()
    assert channel.config["access_token"] == SANDBOX["access_token"]


def inbound(org, text, n=1):
    return InboundMessage.objects.create(
        organization=org,
        channel=channel_of(org),
        subscriber=subscribe(org, f"+39333500000{n}"),
        sender=f"+39333500000{n}",
        wamid=f"wamid.{org.slug}.{n}",
        type="text",
        text=text,
        sent_at=timezone.make_aware(datetime(2026, 3, 1, 9, 0)),
        handling=InboundMessage.Handling.IGNORED,
    )


def test_inbound_needs_the_permission(comune):
    message = inbound(comune, "Buca in via Mazzini")
    without, _ = member(comune, "redattrice", R.EDITOR)
    assert without.get("/console/messaggi-ricevuti/").status_code == 403
    reader, _ = member(comune, "urp", R.EDITOR, reads_inbound=True)
    page = reader.get("/console/messaggi-ricevuti/")
    assert page.status_code == 200 and "Buca in via Mazzini" in page.content.decode()
    # The subscriber's page is not theirs to open: no link to a 403.
    detail = f'href="/console/iscritti/{message.subscriber_id}/"'
    assert detail not in page.content.decode()
    admin, _ = member(comune, "sindaca", R.ADMIN)
    seen = admin.get("/console/messaggi-ricevuti/").content.decode()
    assert "Buca in via Mazzini" in seen and detail in seen


def test_a_blank_text_previews_the_built_in_one_with_believable_facts(comune, admin):
    comune.welcome_text = ""
    comune.chosen_text = ""
    comune.save()
    page = admin.get("/console/impostazioni/").content.decode()
    welcome = page[page.index('id="preview-welcome_text"') :]
    assert "Welcome to the WhatsApp service of the Comune di Pordenone!" in welcome[:400]
    chosen = page[page.index('id="preview-chosen_text"') :]
    assert "You will receive: Protezione civile, Viabilit" in chosen[:300]


def test_a_reply_is_previewed_as_it_is_typed_before_saving(comune, admin):
    before = comune.welcome_text
    part = admin.post("/console/impostazioni/anteprima/", {"welcome_text": "Ciao da {name} {"})
    assert part.status_code == 200
    assert 'id="preview-welcome_text"' in part.content.decode()
    assert "Ciao da Comune di Pordenone {" in part.content.decode()
    comune.refresh_from_db()
    assert comune.welcome_text == before
    blank = admin.post("/console/impostazioni/anteprima/", {"info_text": " "}).content.decode()
    assert "Commands: ISCRIVIMI to subscribe" in blank
    assert admin.post("/console/impostazioni/anteprima/", {"name": "x"}).status_code == 404
    page = admin.get("/console/impostazioni/").content.decode()
    assert 'hx-post="/console/impostazioni/anteprima/"' in page and "htmx.min.js" in page


def test_only_an_amministratore_previews(comune):
    editor = member(comune, "redattrice", R.EDITOR)[0]
    response = editor.post("/console/impostazioni/anteprima/", {"welcome_text": "x"})
    assert response.status_code == 403
