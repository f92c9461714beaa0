"""`GET|POST|DELETE /{id}`: Graph resolves any numeric id to a node (phone number, WABA, media,
template) and answers according to its type; so does the sandbox (reference §5.1, §5.3, §6.1,
§7.2)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from banditore.sandbox.errors import invalid_parameter, unknown_object
from banditore.sandbox.graph_http import graph_json
from banditore.sandbox.instance import Sandbox
from banditore.sandbox.media_api import media_object
from banditore.sandbox.messages_api import read_json
from banditore.sandbox.state import NumberState
from banditore.sandbox.templates_api import DEFAULT_FIELDS, select_fields

PHONE_DEFAULT_FIELDS = (
    "verified_name",
    "code_verification_status",
    "display_phone_number",
    "quality_rating",
    "platform_type",
    "throughput",
    "id",
)


def phone_number_object(number: NumberState) -> dict[str, Any]:
    config = number.config
    return {
        "verified_name": config.verified_name,
        "code_verification_status": "VERIFIED",
        "display_phone_number": "+" + config.display_phone_number,
        "quality_rating": config.quality_rating,
        "platform_type": "CLOUD_API" if config.registered else "NOT_APPLICABLE",
        # Meta reports a level, not a number: STANDARD is 80 mps, HIGH is 1,000 mps.
        "throughput": {"level": "HIGH" if number.mps >= 1000 else "STANDARD"},
        "whatsapp_business_manager_messaging_limit": number.tier,
        "messaging_limit_tier": number.tier,
        "name_status": "APPROVED",
        "status": "CONNECTED" if config.registered else "PENDING",
        "is_official_business_account": False,
        "account_mode": "LIVE",
        "id": config.phone_number_id,
    }


def waba_object(sandbox: Sandbox, waba_id: str) -> dict[str, Any]:
    numbers = sandbox.state.number_for_waba(waba_id)
    return {
        "id": waba_id,
        "name": numbers[0].config.verified_name if numbers else "WhatsApp Business Account",
        "timezone_id": "1",
        "message_template_namespace": f"sandbox_{waba_id}",
        "currency": "EUR",
    }


async def get_object(request: web.Request, sandbox: Sandbox) -> web.Response:
    object_id = request.match_info["object_id"]
    fields = request.query.get("fields")
    state = sandbox.state
    number = state.numbers.get(object_id)
    if number is not None:
        obj = phone_number_object(number)
        if not fields:
            obj = {k: obj[k] for k in PHONE_DEFAULT_FIELDS}
        return graph_json(select_fields(obj, fields, "WhatsAppBusinessPhoneNumber"))
    media = state.media.get(object_id)
    if media is not None:
        owner = request.query.get("phone_number_id")
        if owner is not None and owner != media.phone_number_id:
            raise unknown_object(object_id, "get")
        return graph_json(media_object(request, sandbox, media))
    template = state.templates.get(object_id)
    if template is not None:
        obj = template.as_graph_object()
        if not fields:
            obj = {k: obj[k] for k in DEFAULT_FIELDS}
        return graph_json(select_fields(obj, fields, "WhatsAppMessageTemplate"))
    if object_id in state.wabas():
        return graph_json(
            select_fields(waba_object(sandbox, object_id), fields, "WhatsAppBusinessAccount")
        )
    raise unknown_object(object_id, "get")


async def post_object(request: web.Request, sandbox: Sandbox) -> web.Response:
    object_id = request.match_info["object_id"]
    state = sandbox.state
    template = state.templates.get(object_id)
    number = state.numbers.get(object_id)
    if template is None and number is None:
        raise unknown_object(object_id, "post")
    body = await read_json(request)
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    if number is not None:
        # Phone-level webhook override (reference §4.1).
        hook = body.get("webhook_configuration")
        if not isinstance(hook, dict) or not isinstance(hook.get("override_callback_uri"), str):
            raise invalid_parameter(
                "Param webhook_configuration['override_callback_uri'] is required."
            )
        from banditore.sandbox.config import merge_config

        patch = {
            "numbers": [
                {"phone_number_id": object_id, "callback_url": hook["override_callback_uri"]}
            ]
        }
        sandbox.apply_config(merge_config(state.config, patch))
        return graph_json({"success": True})
    assert template is not None
    from banditore.sandbox.templates_api import config_from_components

    edited = config_from_components(
        template.config.waba_id,
        {
            "name": template.config.name,
            "language": template.config.language,
            "category": body.get("category", template.config.category),
            "components": body.get("components") or template.components(),
        },
    )
    # An edit sends the template back to review, keeping its id.
    state.templates.add(edited.model_copy(update={"id": template.id, "status": "PENDING"}))
    return graph_json({"success": True})


async def delete_object(request: web.Request, sandbox: Sandbox) -> web.Response:
    object_id = request.match_info["object_id"]
    media = sandbox.state.media.get(object_id)
    if media is None:
        raise unknown_object(object_id, "delete")
    owner = request.query.get("phone_number_id")
    if owner is not None and owner != media.phone_number_id:
        raise unknown_object(object_id, "delete")
    sandbox.state.media.delete(object_id)
    return graph_json({"success": True})
