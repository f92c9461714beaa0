"""A broadcast's template: synced from the provider, chosen, its parameters checked when the
operator saves, and a template the provider pauses or re-categorises pauses its broadcasts."""

import json

import aiohttp
import pytest
from asgiref.sync import sync_to_async

from banditore.broadcasts import lifecycle, templating
from banditore.broadcasts.lifecycle import Refused
from banditore.broadcasts.media import BroadcastMedia
from banditore.channels import template_sync
from banditore.channels.base import TemplateItem
from banditore.channels.models import MessageTemplate
from banditore.channels.whatsapp.transport import WhatsAppTransport
from banditore.channels.whatsapp.webhooks import READER
from banditore.core.models import AuditEvent
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.tasks import apply_pending_events
from tests.broadcasts.conftest import CLI, EDITOR, draft
from tests.factories import channel_of, make_comune
from tests.sandbox.harness import PHONE_ID, running_sandbox

WABA = "102290129340398"  # the sandbox's default business account


def template(channel, name="avviso", body="Avviso: {{1}}", *, status="APPROVED", header=None,
             category="UTILITY", parameter_format="positional", language="it"):  # fmt: skip
    components = [{"type": "BODY", "text": body}]
    if header:
        components.insert(0, {"type": "HEADER", **header})
    return MessageTemplate.objects.create(
        channel=channel, name=name, language=language, category=category, status=status,
        components=components, parameter_format=parameter_format,
    )  # fmt: skip


def refused(code, fn, *args, **kwargs):
    with pytest.raises(Refused) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value.message


# -- Parameters, checked when the operator saves.


def test_the_default_mapping_fills_a_two_placeholder_template(comune):
    template(channel_of(comune), "notizia", "Dal {{1}}: {{2}}")
    b = lifecycle.create(comune, EDITOR, text="Strade\nchiuse", template="notizia")
    assert templating.preview(b)["body"] == "Dal Comune di Pordenone: Strade · chiuse"


def test_a_template_with_more_placeholders_needs_their_values(comune):
    template(channel_of(comune), "evento", "{{1}} il {{2}} alle {{3}}")
    message = refused(
        "template_params", lifecycle.create, comune, EDITOR, text="x", template="evento"
    )
    assert "{{1}}" in message and "{{3}}" in message
    b = lifecycle.create(
        comune, EDITOR, text="Concerto in piazza", template="evento",
        template_params=["Concerto", "12 dicembre", "21:00"],
    )  # fmt: skip
    assert templating.preview(b)["body"] == "Concerto il 12 dicembre alle 21:00"


@pytest.mark.parametrize(
    "params, code",
    [
        (["riga uno\nriga due"], "template_params"),
        (["tab\tqui"], "template_params"),
        (["cinque     spazi"], "template_params"),
        ({"9": "x"}, "template_params"),
        (["x" * 1100], "template_too_long"),
    ],
)
def test_bad_parameters_are_refused_at_save_not_at_the_5000th_send(comune, params, code):
    template(channel_of(comune))
    refused(code, lifecycle.create, comune, EDITOR, text="x", template="avviso",
            template_params=params)  # fmt: skip


def test_an_edit_is_checked_too(comune):
    template(channel_of(comune))
    b = lifecycle.create(comune, EDITOR, text="x", template="avviso", template_params=["ok"])
    refused("template_params", lifecycle.update, b, EDITOR, template_params=["a\nb"])
    b.refresh_from_db()
    assert b.template_params == {"1": "ok"}


def test_an_unknown_template_names_the_approved_ones(comune):
    channel = channel_of(comune)
    template(channel, "avviso")
    template(channel, "bozza", status="PENDING")
    message = refused("unknown_template", lifecycle.create, comune, EDITOR, text="x",
                      template="non_esiste")  # fmt: skip
    assert "avviso:it" in message and "bozza" not in message


def test_a_template_not_approved_can_be_drafted_but_not_submitted(comune):
    template(channel_of(comune), status="PENDING")
    b = lifecycle.create(comune, EDITOR, text="x", template="avviso", template_params=["a"])
    refused("template_not_approved", lifecycle.submit, b, EDITOR)


def test_an_image_header_needs_an_image(comune):
    template(channel_of(comune), header={"format": "IMAGE"})
    refused("template_header", lifecycle.create, comune, EDITOR, text="x", template="avviso",
            template_params=["a"])  # fmt: skip


def test_an_attachment_needs_a_template_that_shows_it(comune):
    channel = channel_of(comune)
    template(channel, "plain")
    b = lifecycle.create(comune, EDITOR, text="x", template="plain", template_params=["a"])
    BroadcastMedia.objects.create(
        broadcast=b, mime_type="application/pdf", filename="ordinanza.pdf", size=4,
        sha256="0" * 64, content=b"%PDF",
    )  # fmt: skip
    b = type(b).objects.get(pk=b.pk)
    refused("template_header", lifecycle.submit, b, EDITOR)


# -- What goes on the wire: the sandbox validates templates as Meta does.


async def approved_template(sb, name: str, components: list, **extra) -> None:
    """A template created in the sandbox's business account and approved, as Meta's review
    would."""
    created = await sb.request(
        "POST",
        f"/v23.0/{WABA}/message_templates",
        json={"name": name, "language": "it", "category": "UTILITY", "components": components,
              **extra},
    )  # fmt: skip
    assert created.status == 200, created.json
    await sb.control(
        "POST", "templates/status", {"name": name, "language": "it", "status": "APPROVED"}
    )


@pytest.mark.django_db(transaction=True)
def test_rendered_templates_are_accepted_by_the_sandbox():
    async def scenario():
        async with running_sandbox() as sb:
            for name, components in [
                ("evento", [
                    {"type": "HEADER", "format": "TEXT", "text": "{{titolo}}"},
                    {"type": "BODY", "text": "{{titolo}}: {{quando}}",
                     "example": {"body_text_named_params": [
                         {"param_name": "titolo", "example": "x"},
                         {"param_name": "quando", "example": "y"}]}},
                ]),
                ("volantino", [{"type": "HEADER", "format": "IMAGE"},
                               {"type": "BODY", "text": "Leggi: {{1}}"}]),
            ]:  # fmt: skip
                fmt = "named" if name == "evento" else "positional"
                await approved_template(sb, name, components, parameter_format=fmt)
            form = aiohttp.FormData()
            form.add_field("messaging_product", "whatsapp")
            form.add_field("type", "image/png")
            png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
            form.add_field("file", png, filename="v.png", content_type="image/png")
            uploaded = await sb.request("POST", f"/v23.0/{PHONE_ID}/media", data=form)
            assert uploaded.status == 200, uploaded.json
            upload = uploaded.json["id"]

            def build():
                org = make_comune(base_url=sb.url)
                channel = channel_of(org)
                template_sync.sync(channel)
                named = lifecycle.create(
                    org, EDITOR, text="Concerto", template="evento",
                    template_params={"titolo": "Concerto", "quando": "sabato"},
                )  # fmt: skip
                flyer = draft(org, text="x")
                BroadcastMedia.objects.create(
                    broadcast=flyer, mime_type="image/png", filename="v.png", size=72,
                    sha256="0" * 64, content=b"", provider_id=upload,
                )  # fmt: skip
                lifecycle.update(
                    flyer, EDITOR, template="volantino", template_params=["il volantino"]
                )
                transport = WhatsAppTransport(channel, None, timeout=1)
                transport.prepare([named.pk, flyer.pk])
                return transport, named, flyer

            transport, named, flyer = await sync_to_async(build)()
            for b in (named, flyer):
                for body in (transport.bodies[b.pk], transport.free_bodies[b.pk]):
                    to = "+393331110001"
                    if body is transport.free_bodies[b.pk]:
                        await sb.inbound(to, "ciao")  # free text needs an open window
                    reply = await sb.send(json.loads(body.render(to, "delivery:1")))
                    assert reply.status == 200, reply.json
            got = await sb.received("+393331110001")
            kinds = [m["type"] for m in got]
            assert kinds == ["template", "text", "template", "image"]
            assert got[0]["template"] == "evento" and "Concerto: sabato" in got[0]["text"]

    run(scenario)


def run(scenario):
    import asyncio

    asyncio.run(scenario())


# -- Sync and the provider's webhooks.


@pytest.mark.django_db(transaction=True)
def test_sync_brings_in_the_accounts_templates_and_marks_the_ones_gone():
    async def scenario():
        async with running_sandbox() as sb:
            created = await sb.request(
                "POST", f"/v23.0/{WABA}/message_templates",
                json={"name": "allerta", "language": "it", "category": "UTILITY",
                      "components": [{"type": "BODY", "text": "Allerta {{1}}"}]},
            )  # fmt: skip
            assert created.status == 200, created.json

            def first():
                org = make_comune(base_url=sb.url)
                return org, template_sync.sync(channel_of(org))

            org, counts = await sync_to_async(first)()
            assert counts == {"added": 2, "changed": 0, "gone": 0}
            await sb.request("DELETE", f"/v23.0/{WABA}/message_templates?name=allerta")
            counts = await sync_to_async(template_sync.sync)(await sync_to_async(channel_of)(org))
            assert counts == {"added": 0, "changed": 0, "gone": 1}

            def rows():
                return dict(MessageTemplate.objects.values_list("name", "status"))

            assert await sync_to_async(rows)() == {
                "banditore_notizia": "APPROVED",
                "allerta": "DELETED",
            }

    run(scenario)


def test_a_bad_token_is_a_clear_sync_error(comune):
    from banditore.channels.base import TemplateSyncError

    channel = channel_of(comune)  # its base_url points at a closed port
    with pytest.raises(TemplateSyncError):
        template_sync.sync(channel)


def webhook(field, **value):
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "time": 1767225600, "changes": [{"field": field, "value": value}]}],
    }


STATUS = "message_template_status_update"
CATEGORY = "template_category_update"


def test_the_webhooks_are_read_as_template_items():
    paused = webhook(
        STATUS, event="PAUSED", message_template_id=12, message_template_name="notizia",
        message_template_language="it", reason=None, message_template_category="MARKETING",
    )  # fmt: skip
    moved = webhook(
        CATEGORY, message_template_id=12, message_template_name="notizia",
        message_template_language="it", previous_category="UTILITY", new_category="MARKETING",
    )  # fmt: skip
    announced = webhook(
        CATEGORY, message_template_id=12, message_template_name="notizia",
        message_template_language="it", correct_category="MARKETING", new_category="UTILITY",
        category_update_timestamp=1767312000,
    )  # fmt: skip
    [a] = READER.parse(json.dumps(paused).encode())
    [b] = READER.parse(json.dumps(moved).encode())
    [c] = READER.parse(json.dumps(announced).encode())
    assert a == TemplateItem(WABA, "notizia", "it", "12", status="PAUSED", category="MARKETING")
    assert (b.status, b.category, b.impending) == (None, "MARKETING", False)
    assert (c.status, c.category, c.impending) == (None, None, True)


@pytest.fixture
def sending(comune):
    """A broadcast sending with the channel's default template, synced as UTILITY."""
    from tests.factories import subscribe

    channel = channel_of(comune)
    channel.config = {**channel.config, "waba_id": WABA}
    channel.save()
    template(channel, "banditore_notizia", "Notizie dal {{1}}:\n\n{{2}}")
    for i in range(3):
        subscribe(comune, f"+39333111000{i}")
    return lifecycle.send(draft(comune), CLI)


def deliver(channel, payload):
    WebhookEvent.objects.create(channel=channel, body=json.dumps(payload))
    apply_pending_events()


def test_a_recategorised_template_pauses_its_sending_broadcasts_and_says_why(comune, sending):
    channel = channel_of(comune)
    deliver(channel, webhook(
        CATEGORY, message_template_id=1, message_template_name="banditore_notizia",
        message_template_language="it", previous_category="UTILITY", new_category="MARKETING",
    ))  # fmt: skip
    sending.refresh_from_db()
    assert sending.status == "paused"
    assert "MARKETING" in sending.paused_reason and "UTILITY" in sending.paused_reason
    assert set(sending.recipients.values_list("status", flat=True)) == {"held"}
    assert AuditEvent.objects.filter(action="broadcast.paused", actor_label="system").exists()
    # The estimate now prices it as what Meta bills it at.
    from banditore.broadcasts import cost

    assert cost.category_of(sending) == "marketing"
    # The operator looked at the new price: resuming is theirs to do.
    sending = lifecycle.resume(sending, CLI)
    assert sending.status == "sending" and sending.paused_reason == ""


def test_a_paused_template_pauses_and_blocks_resume_until_approved_again(comune, sending):
    channel = channel_of(comune)
    paused = {
        "message_template_id": 1,
        "message_template_name": "banditore_notizia",
        "message_template_language": "it",
        "message_template_category": "UTILITY",
    }
    deliver(channel, webhook(STATUS, event="PAUSED", reason="NONE", **paused))
    sending.refresh_from_db()
    assert sending.status == "paused" and "PAUSED" in sending.paused_reason
    refused("template_not_approved", lifecycle.resume, sending, CLI)
    deliver(channel, webhook(STATUS, event="APPROVED", reason="NONE", **paused))
    assert lifecycle.resume(sending, CLI).status == "sending"


def test_an_announced_change_changes_nothing_but_is_told(comune, sending):
    deliver(channel_of(comune), webhook(
        CATEGORY, message_template_id=1, message_template_name="banditore_notizia",
        message_template_language="it", correct_category="MARKETING", new_category="UTILITY",
    ))  # fmt: skip
    sending.refresh_from_db()
    assert sending.status == "sending"
    assert AuditEvent.objects.filter(action="template.category_announced").exists()


def test_another_accounts_webhook_touches_nothing(comune, sending):
    other = webhook(
        CATEGORY, message_template_id=1, message_template_name="banditore_notizia",
        message_template_language="it", previous_category="UTILITY", new_category="MARKETING",
    )  # fmt: skip
    other["entry"][0]["id"] = "999"
    deliver(channel_of(comune), other)
    sending.refresh_from_db()
    assert sending.status == "sending"
    assert MessageTemplate.objects.get(name="banditore_notizia").category == "UTILITY"


@pytest.mark.django_db(transaction=True)
def test_the_sync_reads_metas_messaging_limit_into_the_channel():
    async def scenario():
        tier = {"numbers": [{"phone_number_id": PHONE_ID, "messaging_limit_tier": "TIER_2K"}]}
        async with running_sandbox(**tier) as sb:

            def sync():
                org = make_comune(base_url=sb.url)
                template_sync.sync(channel_of(org))
                return channel_of(org).config.get("messaging_limit")

            assert await sync_to_async(sync)() == 2000
            assert (
                await sync_to_async(
                    lambda: AuditEvent.objects.filter(action="channel.messaging_limit").count()
                )()
                == 1
            )

    run(scenario)
