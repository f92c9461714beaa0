"""The console's broadcast pages: each action through the service, by role, one comune's."""

import pytest

from banditore.broadcasts import lifecycle
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.core.models import Operator
from tests.console.helpers import member
from tests.factories import make_comune, subscribe

R = Operator.Role
B = Broadcast.Status


@pytest.fixture
def office(comune):
    comune.require_broadcast_approval = True
    comune.save(update_fields=["require_broadcast_approval"])
    subscribe(comune, "+393331000001")
    subscribe(
        comune,
        "+393331000002",
        topics=["viabilita"] if comune.topics.filter(slug="viabilita").exists() else None,
    )
    editor, editor_user = member(comune, "redattrice", R.EDITOR)
    approver, _ = member(comune, "approvatore", R.APPROVER)
    civil, _ = member(comune, "protezione", R.CIVIL_PROTECTION)
    return {
        "org": comune,
        "editor": editor,
        "editor_user": editor_user,
        "approver": approver,
        "civil": civil,
    }


def compose(client, **extra):
    data = {
        "title": "Lavori",
        "text": "Via Roma *chiusa* domani",
        "priority": Priority.NORMAL,
        **extra,
    }
    return client.post("/console/messaggi/nuovo/", data)


def test_an_editor_composes_and_submits_and_cannot_approve(office):
    response = compose(office["editor"], submit="1")
    assert response.status_code == 302
    broadcast = Broadcast.objects.get()
    assert broadcast.status == B.SUBMITTED
    page = office["editor"].get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    assert 'id="do-approve"' not in page
    office["editor"].post(f"/console/messaggi/{broadcast.pk}/approva/")
    broadcast.refresh_from_db()
    assert broadcast.status == B.SUBMITTED


def test_an_approver_approves_and_sends(office):
    compose(office["editor"], submit="1")
    broadcast = Broadcast.objects.get()
    approver = office["approver"]
    assert 'id="do-approve"' in approver.get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    approver.post(f"/console/messaggi/{broadcast.pk}/approva/")
    broadcast.refresh_from_db()
    assert broadcast.status == B.APPROVED
    approver.post(f"/console/messaggi/{broadcast.pk}/invia/")
    broadcast.refresh_from_db()
    assert broadcast.status == B.SENDING and broadcast.audience_size == 2
    part = approver.get(f"/console/messaggi/{broadcast.pk}/avanzamento/").content.decode()
    assert 'hx-trigger="every 2s"' in part and 'id="progress-bar"' in part
    page = approver.get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    # Nothing failed yet: nothing to retry.
    assert 'id="do-retry"' not in page
    still = approver.get(
        f"/console/messaggi/{broadcast.pk}/avanzamento/", headers={"HX-Request": "true"}
    )
    assert "HX-Refresh" not in still
    first, second = broadcast.recipients.order_by("id")
    first.status, second.status = Delivery.Status.DELIVERED, Delivery.Status.FAILED
    first.save(update_fields=["status"])
    second.save(update_fields=["status"])
    Broadcast.objects.filter(pk=broadcast.pk).update(status=B.SENT)
    done = approver.get(
        f"/console/messaggi/{broadcast.pk}/avanzamento/", headers={"HX-Request": "true"}
    )
    # Sending is over: the page's state and buttons are stale, htmx reloads it once.
    assert done["HX-Refresh"] == "true" and 'hx-trigger="every 2s"' not in done.content.decode()
    assert 'id="do-retry"' in approver.get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    csv = b"".join(approver.get(f"/console/messaggi/{broadcast.pk}/esiti.csv").streaming_content)
    assert csv.decode().splitlines()[0].startswith("phone,status")
    from banditore.core.models import AuditEvent

    assert (
        AuditEvent.objects.get(action="broadcast.outcomes_exported").actor.username == "approvatore"
    )
    assert len(csv.decode().splitlines()) == 3


def test_an_approver_cannot_approve_their_own(office):
    compose(office["approver"], submit="1")
    broadcast = Broadcast.objects.get()
    response = office["approver"].post(f"/console/messaggi/{broadcast.pk}/approva/", follow=True)
    broadcast.refresh_from_db()
    assert broadcast.status == B.SUBMITTED
    assert "a second person must approve it" in response.content.decode()


def test_civil_protection_sends_an_emergency_alone(office):
    compose(office["civil"], priority=Priority.EMERGENCY)
    broadcast = Broadcast.objects.get()
    page = office["civil"].get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    assert 'id="do-send-alone"' in page
    office["civil"].post(f"/console/messaggi/{broadcast.pk}/invia-emergenza/")
    broadcast.refresh_from_db()
    assert broadcast.status == B.SENDING and broadcast.review_required


def test_an_editor_cannot_send_an_emergency_alone(office):
    compose(office["editor"], priority=Priority.EMERGENCY)
    broadcast = Broadcast.objects.get()
    office["editor"].post(f"/console/messaggi/{broadcast.pk}/invia-emergenza/")
    broadcast.refresh_from_db()
    assert broadcast.status == B.DRAFT


def test_cancel_asks_first(office):
    compose(office["editor"])
    broadcast = Broadcast.objects.get()
    url = f"/console/messaggi/{broadcast.pk}/annulla/"
    assert 'id="confirm-cancel"' in office["editor"].get(url).content.decode()
    broadcast.refresh_from_db()
    assert broadcast.status == B.DRAFT
    office["editor"].post(url)
    broadcast.refresh_from_db()
    assert broadcast.status == B.CANCELLED


def test_edit_changes_the_draft_through_the_service(office):
    compose(office["editor"])
    broadcast = Broadcast.objects.get()
    office["editor"].post(
        f"/console/messaggi/{broadcast.pk}/modifica/",
        {"title": "", "text": "Nuovo testo", "priority": Priority.URGENT},
    )
    broadcast.refresh_from_db()
    assert broadcast.text == "Nuovo testo" and broadcast.priority == Priority.URGENT


def test_a_refusal_shows_the_services_words(office):
    response = compose(office["editor"], text="x" * (lifecycle.TEXT_MAX + 5))
    assert response.status_code == 200 and not Broadcast.objects.exists()


def test_the_preview_renders_whatsapp_formatting_escaped(office):
    response = office["editor"].post(
        "/console/messaggi/anteprima/", {"text": "*grassetto* <script>x</script>"}
    )
    page = response.content.decode()
    assert "<strong>grassetto</strong>" in page and "<script>x" not in page
    assert "Reaches 2 subscribers" in page


def test_another_comunes_operator_gets_404_everywhere(office):
    compose(office["editor"], submit="1")
    broadcast = Broadcast.objects.get()
    other = make_comune(slug="sacile")
    stranger, _ = member(other, "altro", R.APPROVER)
    base = f"/console/messaggi/{broadcast.pk}/"
    for url in [
        base,
        base + "modifica/",
        base + "avanzamento/",
        base + "annulla/",
        base + "esiti.csv",
    ]:
        assert stranger.get(url).status_code == 404, url
    for action in ["approva", "invia", "annulla", "prova", "sospendi"]:
        assert stranger.post(base + action + "/").status_code == 404, action
    assert "Lavori" not in stranger.get("/console/messaggi/").content.decode()
    dashboard = stranger.get("/console/").content.decode()
    assert "Lavori" not in dashboard and f"/console/messaggi/{broadcast.pk}/" not in dashboard


def test_the_dashboard_shows_what_waits_and_the_series(office):
    compose(office["editor"], submit="1")
    page = office["approver"].get("/console/").content.decode()
    assert "awaits approval" in page
    series = office["approver"].get("/console/dati/iscritti.json").json()
    assert series["active"][-1] == 2 and len(series["days"]) == 90


def test_a_draft_joins_a_digest_slot_and_leaves_it_audited(office):
    from datetime import time

    from banditore.broadcasts import scheduling
    from banditore.broadcasts.slots import SlotEntry
    from banditore.core.models import AuditEvent

    slot = scheduling.create_slot(office["org"], "Giovedì", 3, time(9, 0))
    compose(office["editor"])
    broadcast = Broadcast.objects.get()
    page = office["editor"].get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    assert 'id="do-digest"' in page and "Giovedì" in page
    office["editor"].post(f"/console/messaggi/{broadcast.pk}/notiziario/", {"slot": slot.pk})
    assert SlotEntry.objects.get().broadcast == broadcast
    page = office["editor"].get(f"/console/messaggi/{broadcast.pk}/").content.decode()
    assert 'id="in-digest"' in page and 'id="do-digest"' not in page
    added = AuditEvent.objects.get(action="broadcast.added_to_digest")
    assert added.actor.username == "redattrice" and added.data["slot"] == "Giovedì"
    office["editor"].post(f"/console/messaggi/{broadcast.pk}/togli-notiziario/")
    assert not SlotEntry.objects.exists()
    assert AuditEvent.objects.filter(action="broadcast.removed_from_digest").exists()


def test_another_comunes_slot_is_refused(office):
    from datetime import time

    from banditore.broadcasts import scheduling
    from banditore.broadcasts.slots import SlotEntry

    elsewhere = scheduling.create_slot(make_comune(slug="sacile"), "Lunedì", 0, time(9, 0))
    compose(office["editor"])
    broadcast = Broadcast.objects.get()
    office["editor"].post(f"/console/messaggi/{broadcast.pk}/notiziario/", {"slot": elsewhere.pk})
    assert not SlotEntry.objects.exists()
