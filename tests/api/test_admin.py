"""The console lists the keys (never a secret) and revokes them."""

import pytest
from django.contrib.auth import get_user_model

from banditore.api import keys
from banditore.api.models import ApiKey


@pytest.fixture
def office(client, db):
    user = get_user_model().objects.create_superuser("it", "it@example.it", "pw-12345678")
    client.force_login(user)
    return client


def test_keys_are_listed_and_revoked_in_the_console(office, comune):
    key, secret = keys.issue(comune, "cms", ["topics:read"])
    listing = office.get("/admin/api/apikey/")
    assert listing.status_code == 200 and key.prefix.encode() in listing.content
    page = office.get(f"/admin/api/apikey/{key.pk}/change/")
    assert secret.encode() not in page.content and key.hash.encode() not in page.content
    assert office.get("/admin/api/apikey/add/").status_code == 403
    office.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert keys.find(secret) is None
