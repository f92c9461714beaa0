"""The REST API against its own OpenAPI document: whatever schemathesis makes of each
operation, with a valid key, nothing answers 500, every answer fits the document, and what
a call stored passes its model's own validation (no garbage rows).

Each operation is a test of its own. schemathesis's pytest loader (`from_fixture`) doesn't
run on pytest 9, so the operations are listed from the document ninja builds, and each test
draws its cases from the document the running application serves.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from banditore.api import keys
from banditore.api.models import SCOPES
from banditore.api.root import api
from banditore.broadcasts.models import Broadcast
from banditore.wsgi import application
from tests.factories import channel_of, subscribe

METHODS = {"get", "post", "put", "patch", "delete"}
OPERATIONS = sorted(
    (path, method)
    for path, operations in api.get_openapi_schema(path_prefix="/api/")["paths"].items()
    for method in operations
    if method in METHODS
)
FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
def served(db):
    """The document as the application serves it, calls going to the WSGI app in-process."""
    # Called as a WSGI app, Django closes the connection after each request, and with it
    # the test's transaction; its own test client disconnects these signals the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def existing(comune):
    """Ids that name something, so that cases reach past the 404 (a draft, a subscriber)."""
    draft = Broadcast.objects.create(
        organization=comune, channel=channel_of(comune), text="Mercato spostato"
    )
    return {"broadcast_id": draft.pk, "subscriber_id": subscribe(comune, "+393331112222").pk}


def answers_json(ctx, response, case):
    """Every answer under /api/ is JSON (or the CSV of outcomes asked for), never the
    site's HTML pages: a client reads the error's code, not a web page."""
    kind = (response.headers.get("content-type") or [""])[0]
    if response.status_code != 204 and not kind.startswith(("application/json", "text/csv")):
        raise AssertionError(f"{response.status_code} answered with {kind!r}")


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, answers_json]


@pytest.fixture
def bearer(comune):
    _, secret = keys.issue(comune, "fuzz", SCOPES)
    return {"Authorization": f"Bearer {secret}"}


def test_the_operations_are_all_fuzzed(served):
    listed = {(op.path, op.method) for op in (r.ok() for r in served.get_all_operations())}
    assert set(OPERATIONS) == listed


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_no_500_and_answers_as_documented(served, bearer, existing, path, method):
    operation = served[path][method]

    @FUZZ
    @given(case=operation.as_strategy(), real=st.booleans())
    def check(case, real):
        if real:
            for name in case.path_parameters or {}:
                case.path_parameters[name] = existing.get(name, case.path_parameters[name])
        response = case.call_and_validate(headers=bearer, checks=CHECKS)
        event(f"answered {response.status_code}")
        for broadcast in Broadcast.objects.all():
            broadcast.full_clean()

    check()


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_a_write_to_a_path_the_api_does_not_route_is_its_json_404(bearer, method):
    # Found by schemathesis (a negative id): the catch-all wasn't exempt from CSRF, so a
    # client got the site's HTML 403 instead of the API's JSON 404.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/broadcasts/-1/submit", headers=bearer)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        '{"text": "Mercato", "zones": ["\\u0000"]}',
        '{"text": "Merc\\u0000ato"}',
        '{"text": "Mercato \\ud83d"}',
        '{"text": "Mercato", "topics": ["\\udc00"]}',
        '{"text": "Mercato", "template_params": {"\\u0000": "x"}}',
    ],
    ids=["nul-zone", "nul-text", "lone-surrogate-text", "lone-surrogate-topic", "nul-key"],
)
def test_text_no_column_can_hold_is_a_422_and_stores_nothing(bearer, body):
    # Found by schemathesis on PostgreSQL: a NUL in a zone reached the query and answered 500.
    response = Client().post(
        "/api/broadcasts", body, content_type="application/json", headers=bearer
    )
    assert response.status_code == 422, response.content
    assert not Broadcast.objects.exists()
