"""A broadcast with a flyer, sent through the dispatcher into the sandbox: the image is
uploaded once and every message names that one media id; outside the window it rides in the
template's header, inside it the citizen gets the image with the text as its caption."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from banditore.broadcasts import attachments, lifecycle
from banditore.broadcasts.media import BroadcastMedia
from banditore.channels import template_sync
from tests.broadcasts.conftest import CLI, draft
from tests.broadcasts.test_templates import approved_template
from tests.dispatch.test_pump import drain_all
from tests.factories import channel_of, make_comune, subscribe
from tests.sandbox.harness import running_sandbox

WABA = "102290129340398"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
OUTSIDE = ["+393331110001", "+393331110002", "+393331110003"]
INSIDE = "+393331110009"


@pytest.mark.django_db(transaction=True)
def test_a_flyer_is_uploaded_once_and_reaches_everyone():
    async def scenario():
        async with running_sandbox() as sb:
            await approved_template(
                sb,
                "volantino",
                [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "{{1}}: {{2}}"}],
            )
            await sb.inbound(INSIDE, "ciao")  # this citizen's window is open

            def prepare():
                org = make_comune(base_url=sb.url)
                template_sync.sync(channel_of(org))
                for number in [*OUTSIDE, INSIDE]:
                    subscribe(org, number)
                from django.utils import timezone

                from banditore.subscribers.models import Subscriber

                Subscriber.objects.filter(phone=INSIDE).update(last_inbound_at=timezone.now())
                b = draft(org, text="Festa della castagna in piazza")
                attachments.attach(b, CLI, content=PNG, filename="festa.png")
                lifecycle.update(b, CLI, template="volantino")
                return lifecycle.send(b, CLI)

            await sync_to_async(prepare)()
            await drain_all(20, "the flyer's send")
            media_id = await sync_to_async(lambda: BroadcastMedia.objects.get().provider_id)()
            assert media_id
            uploads = list(sb.sandbox.state.media._items.values())
            assert len(uploads) == 1 and uploads[0].data == PNG
            for number in OUTSIDE:
                [got] = await sb.received(number)
                assert got["type"] == "template" and got["template"] == "volantino"
                assert media_id in str(got) and "Festa della castagna" in got["text"]
            [got] = await sb.received(INSIDE)
            assert got["type"] == "image" and media_id in str(got)

    asyncio.run(scenario())
