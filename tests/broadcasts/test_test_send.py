"""A test send: the message as a subscriber will get it, to the office's own phones, in any
state and without approval."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor, Refused
from banditore.broadcasts.models import Delivery
from banditore.channels.base import Outgoing
from banditore.channels.whatsapp.transport import WhatsAppTransport
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import EDITOR, draft, in_state
from tests.dispatch.test_pump import drain_all
from tests.factories import make_comune
from tests.sandbox.harness import running_sandbox


def as_sent(delivery: Delivery) -> bytes:
    transport = WhatsAppTransport(delivery.channel, None, timeout=1)
    transport.prepare([delivery.broadcast_id] if delivery.broadcast_id else [])
    outgoing = Outgoing(
        delivery.id, delivery.kind, delivery.recipient, delivery.text, delivery.broadcast_id,
        delivery.priority, delivery.attempts, delivery.created_at,
    )  # fmt: skip
    return transport.render(outgoing)


def test_a_draft_is_tested_on_the_offices_phones_exactly_as_it_will_go(four_eyes, audience):
    b = draft(four_eyes, text="Mercato spostato\nin piazza Cavour")
    assert lifecycle.test_send(b, EDITOR, ["333 911 0001", "+39 333 911 0001", "3339110002"]) == 2
    tests = Delivery.objects.filter(kind="notice").order_by("recipient")
    assert [d.recipient for d in tests] == ["+393339110001", "+393339110002"]
    assert {d.priority for d in tests} == {1}  # the conversation lane: the operator is waiting
    assert not b.recipients.exists()  # not the broadcast's own: its outcomes stay clean
    b.refresh_from_db()
    assert b.status == "draft"
    # The same template request as each subscriber's, but for the number.
    b = lifecycle.send(lifecycle.approve(lifecycle.submit(b, EDITOR), Actor("lucia")), EDITOR)
    real = b.recipients.order_by("id").first()
    expected = as_sent(real).replace(real.recipient.encode(), b"N").split(b'"biz_opaque')[0]
    got = as_sent(tests[0]).replace(b"+393339110001", b"N").split(b'"biz_opaque')[0]
    assert got == expected
    event = AuditEvent.objects.get(action="broadcast.test_sent")
    assert (event.actor_label, event.data["numbers"]) == (
        "api:redazione", ["+393339110001", "+393339110002"]
    )  # fmt: skip


ELEVEN = [f"33391100{i:02d}" for i in range(11)]


@pytest.mark.parametrize(
    "numbers, code",
    [([], "no_numbers"), (["12"], "invalid_number"), (ELEVEN, "too_many_numbers")],
)
def test_bad_numbers_are_refused_and_nothing_is_queued(comune, numbers, code):
    with pytest.raises(Refused) as refused:
        lifecycle.test_send(draft(comune), EDITOR, numbers)
    assert refused.value.code == code
    assert not Delivery.objects.exists()


def test_any_state_can_be_tested(comune, audience):
    b = in_state(comune, "cancelled")
    assert lifecycle.test_send(b, EDITOR, ["3339110001"]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_test_reaches_the_phone():
    async def scenario():
        async with running_sandbox() as sb:
            org = await sync_to_async(make_comune)(base_url=sb.url)
            b = await sync_to_async(draft)(org)
            await sync_to_async(lifecycle.test_send)(b, EDITOR, ["3339110001"])
            await drain_all(20, "the test send")
            got = await sb.received("+393339110001")
            assert len(got) == 1 and "Mercato spostato" in str(got[0])

    asyncio.run(scenario())
