"""API keys: hashed, shown once, scoped, revocable; every refusal is JSON."""

import io

import pytest
from django.core.management import CommandError, call_command

from banditore.api import keys
from banditore.api.models import ApiKey
from tests.api.conftest import Api


def test_only_the_hash_of_the_secret_is_stored(comune):
    key, secret = keys.issue(comune, "cms", ["topics:read"])
    assert len(secret) >= 43  # 32 random bytes, URL-safe
    assert key.prefix == secret[:8]
    assert key.hash == keys.digest(secret) != secret
    assert secret not in str(ApiKey.objects.filter(pk=key.pk).values().get())


def test_unknown_scope_is_refused(comune):
    with pytest.raises(ValueError, match="unknown scopes"):
        keys.issue(comune, "cms", ["everything"])


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "bearer " + "x" * 5000],
)
def test_no_valid_key_answers_401_in_json(comune, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = Api(None).get("/api/topics", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert "Bearer" in error["message"] and "Bearer" in error["message_en"]


def test_a_revoked_key_answers_401(comune, api_for):
    api = api_for(comune, ["topics:read"])
    assert api.get("/api/topics").status_code == 200
    out = io.StringIO()
    call_command("apikey", "revoke", api.key.prefix, stdout=out)
    assert api.get("/api/topics").status_code == 401


def test_a_missing_scope_answers_403(comune, api_for):
    api = api_for(comune, ["topics:read"])
    response = api.get("/api/subscribers?number=3331234567")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert response.json()["error"]["scope"] == "subscribers:read"
    assert "subscribers:read" in response.json()["error"]["message_en"]


def test_use_is_noted_on_the_key(comune, api_for):
    api = api_for(comune, ["topics:read"])
    assert api.key.last_used_at is None
    api.get("/api/topics")
    api.key.refresh_from_db()
    assert api.key.last_used_at is not None


def test_command_shows_the_secret_once_and_lists_prefixes(comune):
    out = io.StringIO()
    call_command(
        "apikey", "create", "--name", "allerta", "--scope", "broadcasts:write",
        "--scope", "broadcasts:emergency", "--test", stdout=out,
    )  # fmt: skip
    secret = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="allerta")
    assert key.kind == "test" and key.scopes == ["broadcasts:emergency", "broadcasts:write"]
    assert keys.find(secret) == key
    listing = io.StringIO()
    call_command("apikey", "list", stdout=listing)
    assert key.prefix in listing.getvalue() and secret not in listing.getvalue()
    with pytest.raises(CommandError):
        call_command("apikey", "create", "--name", "allerta", "--scope", "topics:read")
    with pytest.raises(CommandError):
        call_command("apikey", "revoke", "nothing!")
