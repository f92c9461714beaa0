"""The console shows what the lifecycle recorded and can't change what citizens received."""

import pytest
from django.contrib.auth import get_user_model

from banditore.broadcasts.models import Broadcast
from tests.broadcasts.conftest import in_state


@pytest.fixture
def office(client, db):
    user = get_user_model().objects.create_superuser("ufficio", "u@example.it", "pw-12345678")
    client.force_login(user)
    return client


def test_a_started_broadcast_is_read_only_in_the_console(office, comune, audience):
    b = in_state(comune, "sending")
    page = office.get(f"/admin/broadcasts/broadcast/{b.pk}/change/")
    assert page.status_code == 200
    assert b'name="text"' not in page.content
    assert (
        office.post(f"/admin/broadcasts/broadcast/{b.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Broadcast.objects.filter(pk=b.pk).exists()


def test_bulk_delete_refuses_a_selection_with_a_started_broadcast(office, comune, audience):
    started, draft, other = (in_state(comune, s) for s in ("sending", "draft", "draft"))

    def delete(*broadcasts):
        return office.post(
            "/admin/broadcasts/broadcast/",
            {
                "action": "delete_selected",
                "_selected_action": [b.pk for b in broadcasts],
                "post": "yes",
            },
        )

    assert delete(started, draft).status_code == 403
    assert Broadcast.objects.count() == 3
    delete(draft, other)
    assert list(Broadcast.objects.values_list("pk", flat=True)) == [started.pk]


def test_a_draft_is_edited_in_the_console_but_not_its_status(office, comune):
    b = in_state(comune, "draft")
    page = office.get(f"/admin/broadcasts/broadcast/{b.pk}/change/")
    assert b'name="text"' in page.content and b'name="status"' not in page.content
