"""The users page (add with the password rules, change a role but not one's own,
deactivate after a confirmation, all audited) and the audit log's filter."""

import html

import pytest
from django.contrib.auth import get_user_model

from banditore.core.models import AuditEvent, Operator, audit
from tests.console.helpers import member

R = Operator.Role
User = get_user_model()


@pytest.fixture
def admin(comune):
    return member(comune, "sindaca", R.ADMIN)


def test_a_user_is_added_with_the_password_rules(comune, admin):
    client, _ = admin
    weak = client.post(
        "/console/utenti/nuovo/", {"username": "urp", "role": R.EDITOR, "password": "123"}
    )
    assert weak.status_code == 200 and 'aria-invalid="true"' in weak.content.decode()
    assert not User.objects.filter(username="urp").exists()
    done = client.post(
        "/console/utenti/nuovo/",
        {
            "username": "urp",
            "email": "urp@comune.example",
            "role": R.EDITOR,
            "reads_inbound": "on",
            "password": "Noncello-Cellina-2026",
        },
    )
    assert done.status_code == 302
    added = Operator.objects.get(user__username="urp")
    assert (added.organization, added.role, added.reads_inbound) == (comune, R.EDITOR, True)
    assert added.user.check_password("Noncello-Cellina-2026")
    event = AuditEvent.objects.get(action="operator.added")
    assert event.target == "urp" and event.data == {"role": R.EDITOR, "reads_inbound": True}
    assert "Noncello-Cellina-2026" not in str(event.data)
    taken = client.post(
        "/console/utenti/nuovo/",
        {"username": "URP", "role": R.EDITOR, "password": "Noncello-Cellina-2026"},
    )
    assert taken.status_code == 200 and User.objects.filter(username__iexact="urp").count() == 1


def test_a_username_follows_the_accounts_rules(comune, admin):
    client, _ = admin
    response = client.post(
        "/console/utenti/nuovo/",
        {"username": "ufficio stampa/2", "role": R.EDITOR, "password": "Noncello-Cellina-2026"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="ufficio stampa/2").exists()


def test_a_role_is_changed_and_audited(comune, admin):
    client, _ = admin
    _, editor = member(comune, "redattrice", R.EDITOR)
    operator = editor.operator
    response = client.post(f"/console/utenti/{operator.pk}/", {"role": R.APPROVER})
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.role == R.APPROVER
    event = AuditEvent.objects.get(action="operator.changed")
    assert event.data["before"]["role"] == R.EDITOR and event.data["after"]["role"] == R.APPROVER


def test_ones_own_role_cannot_change(comune, admin):
    client, user = admin
    response = client.post(f"/console/utenti/{user.operator.pk}/", {"role": R.EDITOR})
    assert response.status_code == 200
    assert "You can't change your own role." in html.unescape(response.content.decode())
    user.operator.refresh_from_db()
    assert user.operator.role == R.ADMIN
    assert not AuditEvent.objects.filter(action="operator.changed").exists()


def test_deactivation_asks_first_and_locks_the_account_out(comune, admin):
    client, _ = admin
    editor_client, editor = member(comune, "redattrice", R.EDITOR)
    url = f"/console/utenti/{editor.operator.pk}/disattiva/"
    asked = client.get(url)
    assert 'id="deactivate-form"' in asked.content.decode()
    editor.refresh_from_db()
    assert editor.is_active
    assert client.post(url).status_code == 302
    editor.refresh_from_db()
    assert not editor.is_active and Operator.objects.filter(user=editor).exists()
    assert AuditEvent.objects.filter(action="operator.deactivated", target="redattrice").exists()
    # Their open session ends with it.
    assert editor_client.get("/console/").status_code == 302


def test_one_cannot_deactivate_oneself(comune, admin):
    client, user = admin
    client.post(f"/console/utenti/{user.operator.pk}/disattiva/")
    user.refresh_from_db()
    assert user.is_active
    assert not AuditEvent.objects.filter(action="operator.deactivated").exists()


def test_the_users_list_is_the_comunes_staff(comune, admin):
    client, _ = admin
    member(comune, "redattrice", R.EDITOR)
    page = client.get("/console/utenti/").content.decode()
    assert "redattrice" in page and "sindaca" in page


def test_the_audit_log_filters_by_action(comune, admin):
    client, user = admin
    audit(comune, "settings.changed", "pordenone", actor=user, fields=["welcome_text"])
    audit(comune, "slot.created", "Giovedì-speciale", actor=user)
    everything = client.get("/console/registro/").content.decode()
    assert "welcome_text" in everything and "Giovedì-speciale" in everything
    only = client.get("/console/registro/", {"action": "slot.created"}).content.decode()
    assert "Giovedì-speciale" in only and "welcome_text" not in only


def test_an_approver_reads_no_audit_log_and_manages_no_users(comune):
    client, _ = member(comune, "approvatore", R.APPROVER)
    _, editor = member(comune, "redattrice", R.EDITOR)
    assert client.get("/console/registro/").status_code == 403
    assert client.post("/console/utenti/nuovo/", {"username": "x"}).status_code == 403
    client.post(f"/console/utenti/{editor.operator.pk}/", {"role": R.ADMIN})
    client.post(f"/console/utenti/{editor.operator.pk}/disattiva/")
    editor.refresh_from_db()
    assert editor.is_active and editor.operator.role == R.EDITOR
