"""The OpenAPI document: valid, complete, and true to what the API answers."""

import json

import pytest
from django.test import Client
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.factories import subscribe

ENDPOINTS = {
    ("get", "/api/broadcasts"), ("post", "/api/broadcasts"),
    ("get", "/api/broadcasts/{broadcast_id}"), ("patch", "/api/broadcasts/{broadcast_id}"),
    *{("post", f"/api/broadcasts/{{broadcast_id}}/{action}") for action in (
        "submit", "approve", "schedule", "send", "pause", "resume", "cancel", "test",
        "retry-failed",
    )},
    *{("get", f"/api/broadcasts/{{broadcast_id}}/{view}") for view in (
        "status", "outcomes", "estimate",
    )},
    ("post", "/api/broadcasts/{broadcast_id}/media"),
    ("delete", "/api/broadcasts/{broadcast_id}/media"),
    ("get", "/api/topics"), ("get", "/api/subscribers"),
    ("get", "/api/subscribers/{subscriber_id}"),
}  # fmt: skip
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def _schemas(node):
    """Every JSON schema in the document (components, parameters, bodies, responses)."""
    yield from node.get("components", {}).get("schemas", {}).values()
    for operations in node["paths"].values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            for parameter in operation.get("parameters", []):
                yield parameter["schema"]
            for part in [operation.get("requestBody", {}), *operation["responses"].values()]:
                for media in part.get("content", {}).values():
                    yield media["schema"]


def test_the_document_lists_every_endpoint(document):
    assert document["openapi"].startswith("3.1")
    listed = {(m, p) for p, ops in document["paths"].items() for m in ops if m in METHODS}
    assert listed == ENDPOINTS


def test_the_document_is_valid(document):
    assert document["info"]["title"] == "Banditore API" and document["info"]["version"]
    description = document["info"]["description"]
    for words in ("Bearer", "Idempotency-Key", "Test keys never reach citizens", "dry run"):
        assert words in description
    for schema in _schemas(document):
        OAS31Validator.check_schema(schema)
    schemes = document["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    for method, path in ENDPOINTS:
        operation = document["paths"][path][method]
        assert operation["security"] and operation["responses"], (method, path)
        assert "Scope: `" in operation["description"], (method, path)


def test_answers_match_the_documented_schemas(document, comune, api):
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:banditore", resource)

    def check(response, path, method):
        escaped = path.replace("~", "~0").replace("/", "~1")
        code = str(response.status_code)
        pointer = f"/paths/{escaped}/{method}/responses/{'4XX' if code[0] == '4' else code}"
        schema = {"$ref": f"urn:banditore#{pointer}/content/application~1json/schema"}
        streamed = getattr(response, "streaming", False)
        body = json.loads(b"".join(response.streaming_content)) if streamed else response.json()
        OAS31Validator(schema, registry=registry).validate(body)

    created = api.post("/api/broadcasts", {"text": "Avviso"})
    check(created, "/api/broadcasts", "post")
    check(api.get("/api/broadcasts"), "/api/broadcasts", "get")
    item = "/api/broadcasts/{broadcast_id}"
    check(api.get(f"/api/broadcasts/{created.json()['id']}/status"), f"{item}/status", "get")
    check(api.get("/api/topics"), "/api/topics", "get")
    subscribe(comune, "+393331112222")
    sent = api.post(f"/api/broadcasts/{created.json()['id']}/send")
    check(sent, f"{item}/send", "post")
    outcomes = api.get(f"/api/broadcasts/{created.json()['id']}/outcomes")
    check(outcomes, f"{item}/outcomes", "get")
    check(api.post("/api/broadcasts", {"text": 5}), "/api/broadcasts", "post")
    check(api.get(f"{item.format(broadcast_id=999)}"), item, "get")
    refused = api.post(f"/api/broadcasts/{created.json()['id']}/resume")
    assert refused.status_code == 409
    check(refused, f"{item}/resume", "post")


def test_every_post_documents_the_idempotency_key(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            assert ("Idempotency-Key" in names) == (method == "post"), (method, path)


def test_docs_page(db):
    response = Client().get("/api/docs")
    assert response.status_code == 200 and b"openapi.json" in response.content
