"""Whatever a correctly signed body holds, the endpoint answers 200 or 400 and never 500;
a 200 stores exactly one event (once per body), which the worker then applies or sets aside
as a dead letter, never leaving it half done. A forged signature stores nothing.

Bodies are drawn two ways: arbitrary JSON-ish trees (keys from Meta's vocabulary and
anything else), and valid Meta payloads with one part replaced, removed or retyped.
"""

import copy
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from banditore.channels.whatsapp.signature import sign
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import InboundMessage, WebhookEvent, WebhookItemFailure
from banditore.webhooks.store import digest
from banditore.webhooks.tasks import apply_pending_events
from tests.factories import channel_of
from tests.live_receiver import post
from tests.webhooks.bodies import NUMBER_ID, body, message, status

SECRET = "sandbox-app-secret"
pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

META_KEYS = [
    "object", "entry", "id", "changes", "field", "value", "messaging_product", "metadata",
    "phone_number_id", "display_phone_number", "messages", "statuses", "from", "timestamp",
    "type", "text", "body", "status", "recipient_id", "errors", "code", "title", "message",
    "contacts", "wa_id", "user_preferences", "category", "event", "message_template_name",
    "message_template_language", "message_template_id", "reason", "new_category",
    "previous_category", "correct_category", "button", "interactive",
]  # fmt: skip
META_WORDS = [
    "whatsapp_business_account", "whatsapp", "messages", "user_preferences", "stop",
    "message_template_status_update", "template_category_update", "text", "sent",
    "delivered", "read", "failed", "APPROVED", NUMBER_ID, "393331112222", "ISCRIVIMI",
    "CANCELLAMI", "STOP", "1700000000",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(META_WORDS)
)
keys = st.sampled_from(META_KEYS) | st.text(max_size=12)
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def valid_payloads() -> list[dict]:
    failed = status("wamid.F1", "failed", errors=[{"code": 131026, "title": "undeliverable"}])
    stop = body()
    stop["entry"][0]["changes"][0] = {
        "field": "user_preferences",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "390510000001", "phone_number_id": NUMBER_ID},
            "user_preferences": [
                {
                    "wa_id": "393331112222",
                    "category": "marketing_messages",
                    "value": "stop",
                    "timestamp": 1700000000,
                }  # fmt: skip
            ],
        },
    }
    template = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 42,
                            "message_template_name": "avviso",
                            "message_template_language": "it",
                            "reason": "NONE",
                        },
                    }
                ],
            }
        ],
    }
    return [
        body(messages=[message(ts="1700000000")]),
        body(messages=[message(text="CANCELLAMI", ts="1700000000")]),
        body(statuses=[status("wamid.S1", "delivered", ts="1700000000"), failed]),
        stop,
        template,
    ]


def paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for key, child in tree.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(tree, list):
        for index, child in enumerate(tree):
            yield from paths(child, (*prefix, index))


@st.composite
def mutated(draw):
    """A valid payload with one part replaced by anything, removed, or wrapped in a list."""
    tree = copy.deepcopy(draw(st.sampled_from(valid_payloads())))
    where = draw(st.sampled_from([p for p in paths(tree) if p]))
    parent = tree
    for step in where[:-1]:
        parent = parent[step]
    last = where[-1]
    how = draw(st.sampled_from(["replace", "remove", "wrap", "stringify"]))
    if how == "replace":
        parent[last] = draw(trees)
    elif how == "remove":
        del parent[last]
    elif how == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = json.dumps(parent[last])
    return tree


def encoded(tree, ascii_only: bool) -> bytes:
    if ascii_only:
        return json.dumps(tree).encode()
    # Lone surrogates become invalid UTF-8: a body the parser must refuse, not crash on.
    return json.dumps(tree, ensure_ascii=False).encode("utf-8", "surrogatepass")


valid_ish = st.builds(encoded, mutated(), st.booleans())
odd = st.one_of(st.builds(encoded, trees, st.booleans()), st.binary(max_size=200))
# Mostly near-valid bodies: those reach the worker, where the half-done rows would be.
# (one_of() would deduplicate a repeated branch, so the odds are drawn.)
bodies = st.integers(0, 3).flatmap(lambda n: odd if n == 0 else valid_ish)


@pytest.fixture
def url(receiver, comune):
    return f"{receiver}/webhooks/whatsapp/{channel_of(comune).pk}"


def settled(event: WebhookEvent) -> bool:
    """Applied, set aside as a dead letter with its reason, or waiting (with a time) for
    the send its statuses name: never half done."""
    if event.status == WebhookEvent.Status.PROCESSED:
        return event.processed_at is not None
    if event.status == WebhookEvent.Status.DEAD:
        return bool(event.error)
    return event.status == WebhookEvent.Status.PENDING and event.not_before is not None


@FUZZ
@given(raw=bodies)
def test_a_signed_body_is_a_200_or_400_and_stores_one_settled_event_or_nothing(url, raw):
    known = set(WebhookEvent.objects.values_list("digest", flat=True))
    before = WebhookEvent.objects.count()
    code = post(url, raw, sign(raw, SECRET))
    event(f"answered {code}")
    assert code in (200, 400), code
    added = WebhookEvent.objects.count() - before
    if code == 400 or digest(raw) in known:
        assert added == 0
        return
    assert added == 1
    apply_pending_events()
    stored = WebhookEvent.objects.get(digest=digest(raw))
    event(f"stored as {stored.status}")
    assert stored.body.encode() == raw
    assert settled(stored), (stored.status, stored.error, stored.not_before)
    # What the worker wrote belongs to a stored event, and is readable back.
    for failure in WebhookItemFailure.objects.filter(event=stored):
        assert failure.error and failure.kind in {"status", "message", "stop", "template"}
    # What the worker stored from the body fits its own model's rules (no garbage rows).
    rows = [*InboundMessage.objects.all(), *Subscriber.objects.all()]
    event(f"rows applied so far: {bool(rows)}")
    for row in rows:
        row.full_clean(validate_unique=False)


@FUZZ
@given(raw=bodies, signature=st.one_of(st.text(max_size=80), st.binary(max_size=80)))
def test_a_forged_signature_stores_nothing(url, raw, signature):
    before = WebhookEvent.objects.count()
    header = signature.decode("latin-1") if isinstance(signature, bytes) else signature
    code = post(url, raw, _sendable(header))
    assert code in (400, 403), code
    assert WebhookEvent.objects.count() == before


def _sendable(header: str) -> bytes:
    # http.client refuses CR/LF in a header; everything else goes over the wire as is.
    return header.replace("\r", "").replace("\n", "").encode("utf-8", "surrogatepass")
