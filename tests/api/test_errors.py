"""Bad input is a JSON 4xx with a code and both languages, never a 500."""

import pytest


def _error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"] and error["message_en"]
    return error


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[1, 2", b'{"text": "a"', b"null"],
)
def test_malformed_json(comune, api, body):
    error = _error(api.post("/api/broadcasts", body), 400 if body != b"null" else 422)
    assert error["code"] in ("bad_request", "invalid")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": 12}, "body.data.text"),
        ({"text": ""}, "body.data.text"),
        ({"text": "x" * 901}, "body.data.text"),
        ({"text": "ok", "priority": "altissima"}, "body.data.priority"),
        ({"text": "ok", "topics": "eventi"}, "body.data.topics"),
        ({"text": "ok", "channel": "primo"}, "body.data.channel"),
        ({"text": "ok", "audience": "everyone"}, "body.data.audience"),
        ([], "body.data"),
        ({}, "body.data.text"),
    ],
)
def test_wrong_types_and_unknown_fields(comune, api, body, field):
    error = _error(api.post("/api/broadcasts", body), 422)
    assert error["code"] == "invalid"
    assert field in [f["field"] for f in error["fields"]]
    assert field in error["message"]


def test_unknown_topic_and_channel(comune, api):
    error = _error(api.post("/api/broadcasts", {"text": "ok", "topics": ["sagra"]}), 422)
    assert error["code"] == "unknown_topic" and error["topics"] == ["sagra"]
    error = _error(api.post("/api/broadcasts", {"text": "ok", "channel": 999}), 422)
    assert error["code"] == "unknown_channel"


def test_huge_body(comune, api):
    body = b'{"text": "' + b"x" * 4_000_000 + b'"}'
    _error(api.post("/api/broadcasts", body), 413)
    _error(api.post("/api/broadcasts", body, headers={"Idempotency-Key": "big"}), 413)


@pytest.mark.parametrize(
    "path",
    ["/api/broadcasts/999", "/api/broadcasts/abc", "/api/nothing", "/api/broadcasts/1/fly"],
)
def test_unknown_ids_and_paths(comune, api, path):
    assert _error(api.get(path), 404)["code"] == "not_found"


def test_a_method_not_routed(comune, api):
    error = _error(api._call("delete", "/api/broadcasts"), 405)
    assert error["code"] == "method_not_allowed"


def test_query_parameters_of_the_wrong_type(comune, api):
    assert _error(api.get("/api/broadcasts?limit=many"), 422)["code"] == "invalid"


def test_errors_speak_italian_and_english_whatever_the_client_asks(comune, api):
    english_client = {"Accept-Language": "en"}
    mine = api.post("/api/broadcasts", {"text": "ok", "channel": 999}, headers=english_client)
    error = _error(mine, 422)
    assert error["message"] == "Il comune non ha un canale con quell'id."
    assert error["message_en"] == "The comune has no channel with that id."
    services = api.post("/api/broadcasts", {"text": "   "}, headers=english_client)
    error = _error(services, 422)
    assert error["code"] == "empty_text"
    assert (error["message"], error["message_en"]) == ("Il testo è vuoto.", "The text is empty.")
