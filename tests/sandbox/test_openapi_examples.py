"""Fidelity to Meta's own OpenAPI file: every request example of the messages endpoint is
accepted, and what the sandbox answers (and sends by webhook) validates against the file's
schemas.

The examples are templates with placeholders (`{{Recipient-Phone-Number}}`, `<IMAGE_OBJECT_ID>`,
`http(s)://image-url`, template names like `template-name`). The test fills them in with
explicit rules, below, and registers the templates the examples name, with the structure each
example implies. No example is skipped: `NOT_EMULATED` lists the ones the sandbox rejects on
purpose, with the reason, and the test checks that they are rejected.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from openapi_schema_validator import OAS31Validator

from banditore.sandbox.config import SandboxConfig, TemplateConfig, default_template

from .harness import FAST, PHONE_ID, run, running_sandbox, webhook_receiver

SPEC_PATH = Path(__file__).parent / "meta_openapi" / "business-messaging-api_v23.0.yaml"
RECIPIENT = "+16505551234"
MEDIA_TYPES = {
    "audio": ("audio/ogg", b"OggS" + b"\x00" * 32),
    "document": ("application/pdf", b"%PDF-1.4\n%%EOF\n"),
    "image": ("image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 32),
    "video": ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16),
    "sticker": ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 16),
}

# Examples the sandbox rejects on purpose, with the reason; the test asserts they are rejected,
# so none is silently skipped.
NOT_EMULATED: dict[str, str] = {
    "Send Reply to List Message": (
        "the example omits `type: interactive`; Meta's reference says `type` defaults to "
        "`text`, so the body lacks `text` and the sandbox answers 131008 (the sibling example "
        "'Send List Message' has the type and is accepted)"
    ),
}

_BODY3 = "Your {{1}} costs {{2}}, delivered on {{3}}."


def _templates() -> list[TemplateConfig]:
    """The templates Meta's examples send, shaped as each example implies."""
    return [
        default_template(),
        TemplateConfig(name="hello_world", language="en_US", body="Hello World"),
        TemplateConfig(
            name="intro_catalog_offer",
            language="en_US",
            category="MARKETING",
            body="Get Rs {{1}} off on orders above {{2}}Rs! Valid for your first {{3}} orders.",
            buttons=[{"type": "CATALOG", "text": "View catalog"}],
        ),
        TemplateConfig(
            name="sample_issue_resolution",
            language="en_US",
            body="Hi {{1}}, were we able to solve the issue that you were facing?",
            buttons=[{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "QUICK_REPLY", "text": "No"}],
        ),
        # `template-name` in `language-and-locale-code`: the examples with only a body.
        TemplateConfig(name="template_body_only", language="language-and-locale-code", body=_BODY3),
        # ...and the examples that add an image header (and buttons).
        TemplateConfig(
            name="template_image_header",
            language="language-and-locale-code",
            body=_BODY3,
            header_format="IMAGE",
            buttons=[{"type": "QUICK_REPLY", "text": "Ok"}, {"type": "QUICK_REPLY", "text": "No"}],
        ),
        TemplateConfig(
            name="template_flow_button",
            language="en_US",
            body="Complete the form.",
            buttons=[{"type": "FLOW", "text": "Open", "flow_id": "1"}],
        ),
    ]


@cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader


def messages_examples() -> dict[str, dict[str, Any]]:
    op = spec()["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    return {title: example["value"] for title, example in examples.items()}


def validator(schema_name: str) -> OAS31Validator:
    # Resolve `$ref`s within the file by making the file's components part of the root schema.
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": spec()["components"]}
    return OAS31Validator(root)


_PLACEHOLDER_TO = re.compile(r"^\{\{.*\}\}$")
_VALID_LINK = re.compile(r"^https?://[\w.-]+(/\S*)?$")


def fill_placeholders(
    title: str, body: dict[str, Any], media_ids: dict[str, str]
) -> dict[str, Any]:
    """Fill in an example's placeholders (the rules this module's docstring announces)."""
    body = copy.deepcopy(body)
    if _PLACEHOLDER_TO.match(str(body.get("to", ""))):
        body["to"] = RECIPIENT
    for kind in MEDIA_TYPES:
        media = body.get(kind)
        if isinstance(media, dict):
            if "id" in media:
                media["id"] = media_ids[kind]
            if "link" in media and not _VALID_LINK.match(media["link"]):
                media["link"] = f"https://media.example.org/{kind}"
    template = body.get("template")
    if isinstance(template, dict):
        if template["name"] in ("template-name", "<TEMPLATE_NAME>"):
            components = template.get("components", [])
            kinds = {c["type"] for c in components}
            if any(c.get("sub_type") == "flow" for c in components):
                template["name"] = "template_flow_button"
            elif "header" in kinds:
                template["name"] = "template_image_header"
            else:
                template["name"] = "template_body_only"
        for component in template.get("components", []):
            for param in component.get("parameters", []):
                media = param.get(param.get("type"))
                if (
                    isinstance(media, dict)
                    and "link" in media
                    and not _VALID_LINK.match(media["link"])
                ):
                    media["link"] = "https://media.example.org/header.jpg"
    return body


async def _upload_all(sb: Any) -> dict[str, str]:
    ids = {}
    for kind, (mime, data) in MEDIA_TYPES.items():
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", data, filename=f"f.{kind}", content_type=mime)
        reply = await sb.request("POST", f"/v23.0/{PHONE_ID}/media", data=form)
        assert reply.status == 200, reply.json
        ids[kind] = reply.json["id"]
    return ids


def test_it_finds_the_fifty_examples_of_the_messages_endpoint() -> None:
    assert len(messages_examples()) == 50


@pytest.mark.timeout(60)
@run
async def test_it_accepts_every_messages_example_of_metas_openapi_file() -> None:
    response_schema = validator("MessageResponsePayload")
    config = SandboxConfig(templates=_templates(), limits={"pair_burst": 100})
    async with running_sandbox(config) as sb:
        media_ids = await _upload_all(sb)
        for title, example in messages_examples().items():
            body = fill_placeholders(title, example, media_ids)
            reply = await sb.send(body)
            if title in NOT_EMULATED:
                assert reply.status != 200, f"{title}: expected a rejection ({NOT_EMULATED[title]})"
                continue
            assert reply.status == 200, f"{title}: {reply.json}"
            response_schema.validate(reply.json)
            if "status" in body:
                assert reply.json == {"success": True}
            else:
                assert reply.json["messages"][0]["id"].startswith("wamid.")


@run
async def test_it_answers_errors_that_validate_against_graph_api_error() -> None:
    error_schema = validator("GraphAPIError")
    async with running_sandbox() as sb:
        bad = [
            {"to": RECIPIENT, "text": {"body": "x"}},
            {
                "messaging_product": "whatsapp",
                "to": RECIPIENT,
                "type": "template",
                "template": {"name": "x", "language": {"code": "it"}},
            },
        ]
        for body in bad:
            reply = await sb.send(body)
            assert reply.status >= 400
            error_schema.validate(reply.json)
        error_schema.validate((await sb.send(bad[0], token="wrong")).json)
        error_schema.validate((await sb.send(bad[0], phone_id="1")).json)


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not contents."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


@run
async def test_it_sends_status_webhooks_that_validate_against_the_webhook_schema() -> None:
    webhook_schema = validator("WebhookPayload")
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        await sb.inbound(RECIPIENT, "Hello")
        body = {"messaging_product": "whatsapp", "to": RECIPIENT, "text": {"body": "Hi"}}
        await sb.send(body)
        await sb.send({**body, "to": "+16505550000"})  # no window: a failed status
        await sb.wait_until(lambda: len(rx.statuses()) == 4 and len(rx.messages()) == 1)
        status_webhooks = [w for w in rx.received if "statuses" in w.body.decode()]
        assert len(status_webhooks) == 4
        for webhook in status_webhooks:
            webhook_schema.validate(webhook.payload)


@run
async def test_it_sends_inbound_text_webhooks_shaped_like_metas_example() -> None:
    # The file's inbound-message schemas reuse the names of the send schemas, so not even
    # Meta's own webhook examples validate against them. Compare with Meta's example instead.
    op = spec()["paths"]["/whatsapp/webhooks"]["post"]
    example = op["requestBody"]["content"]["application/json"]["examples"]["Text Message"]
    # Meta's example predates the 2026 usernames fields, so compare with them switched off,
    # then check that switching them on adds exactly those fields.
    async with (
        webhook_receiver() as rx,
        running_sandbox(callback_url=rx.url, webhooks={"user_ids": False}) as sb,
    ):
        await sb.inbound(RECIPIENT, "Does it come in another color?", name="Sheena Nelson")
        await sb.wait_until(lambda: len(rx.messages()) == 1)
        assert shape(rx.received[0].payload) == shape(example["value"])
        await sb.control("POST", "config", {"webhooks": {"user_ids": True}})
        await sb.inbound(RECIPIENT, "Hello again")
        await sb.wait_until(lambda: len(rx.messages()) == 2)
        value = rx.received[1].payload["entry"][0]["changes"][0]["value"]
        assert set(value["contacts"][0]) == {"profile", "wa_id", "user_id"}
        assert set(value["messages"][0]) == {
            "from",
            "id",
            "timestamp",
            "type",
            "text",
            "from_user_id",
        }
