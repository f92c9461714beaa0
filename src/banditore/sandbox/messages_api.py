"""`POST /{phone-number-id}/messages`: validate, apply Meta's limits, answer with a wamid and
hand the message to its status timeline (reference §2, §5)."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from banditore.sandbox.errors import GraphError, invalid_parameter, unknown_object
from banditore.sandbox.graph_http import graph_json
from banditore.sandbox.ids import new_wamid
from banditore.sandbox.instance import Sandbox
from banditore.sandbox.phones import normalise_lenient
from banditore.sandbox.state import NumberState, OutboundMessage
from banditore.sandbox.validation import SendRequest, parse_read_receipt, parse_send


def number_or_error(sandbox: Sandbox, phone_number_id: str, method: str = "post") -> NumberState:
    number = sandbox.state.numbers.get(phone_number_id)
    if number is None:
        raise unknown_object(phone_number_id, method)
    return number


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_parameter("The request body is not valid JSON.") from None


async def send_message(request: web.Request, sandbox: Sandbox) -> web.Response:
    number = number_or_error(sandbox, request.match_info["phone_number_id"])
    if not number.config.registered:
        raise GraphError(133010)
    body = await read_json(request)
    if isinstance(body, dict) and "status" in body and "to" not in body:
        return _mark_read(sandbox, body)

    state = sandbox.state
    send = parse_send(
        body,
        own_number=number.config.display_phone_number,
        templates=state.templates,
        waba_id=number.config.waba_id,
        media_exists=lambda media_id: state.media.exists_for(
            number.config.phone_number_id, media_id
        ),
    )
    allowed = number.config.allowed_recipients
    if allowed is not None and send.wa_id not in {normalise_lenient(n) for n in allowed}:
        raise GraphError(131030)
    now_mono = time.monotonic()
    if not number.bucket.take(now_mono):
        raise GraphError(130429, subcode=2494055)
    if not number.pairs.take(send.wa_id, now_mono):
        raise GraphError(131056)

    now = time.time()
    failure, window_open = _async_failure(sandbox, number, send, now)
    message = OutboundMessage(
        id=new_wamid(send.wa_id),
        phone_number_id=number.config.phone_number_id,
        to=send.wa_id,
        type=send.type,
        text=send.text,
        timestamp=now,
        header=send.header,
        footer=send.footer,
        media=send.media,
        context_id=send.context_id,
        biz_opaque_callback_data=send.biz_opaque_callback_data,
        pricing=_pricing(send, window_open),
    )
    message.history.append(("accepted", int(now)))
    if send.template is not None:
        message.template = send.template.config.name
        message.language = send.template.config.language
        message.category = send.template.config.category
    state.record_outbound(message)
    state.stats["messages_accepted"] += 1
    sandbox.timeline.start(message, failure)
    return graph_json(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": send.to_input, "wa_id": send.wa_id}],
            "messages": [{"id": message.id}],
        }
    )


def _async_failure(
    sandbox: Sandbox, number: NumberState, send: SendRequest, now: float
) -> tuple[tuple[int, str | None] | None, bool]:
    """Decide now what the timeline will report later: (failure or None, window open?).

    Meta accepts these sends with HTTP 200 and reports the problem by webhook (reference §3.4).
    """
    state = sandbox.state
    limits = state.config.limits
    window_open = number.window_open(send.wa_id, now, limits.window_seconds)
    if send.wa_id in state.not_on_whatsapp:
        return (131026, None), window_open
    marketing = send.template is not None and send.template.config.category == "MARKETING"
    if marketing:
        if send.wa_id in state.marketing_opted_out:
            return (131050, None), window_open
        if send.wa_id in state.experiment_group:
            return (130472, None), window_open
        if limits.us_marketing_pause and send.wa_id.startswith("1"):
            return (131049, "Marketing templates are not delivered to US numbers."), window_open
    if send.needs_open_window and not window_open:
        return (131047, None), window_open
    if window_open:
        return None, window_open
    # Business-initiated: counts toward the messaging-limit tier (unique users, rolling 24 h).
    if not number.tier_allows(send.wa_id, now):
        code = limits.messaging_limit_error_code
        details = f"Messaging limit {number.tier} reached for unique users in 24 hours."
        if limits.messaging_limit_behaviour == "reject":
            raise GraphError(code, details)
        return (code, details), window_open
    number.business_initiated[send.wa_id] = now
    if marketing:
        if not number.marketing_allows(send.wa_id, now, limits.marketing_cap_per_user):
            return (131049, None), window_open
        number.note_marketing(send.wa_id, now)
    return None, window_open


# Pricing objects are shared, never mutated: one per kind instead of one per message.
_FREE_SERVICE = {
    "billable": False,
    "pricing_model": "PMP",
    "type": "free_customer_service",
    "category": "service",
}
_FREE_UTILITY = {**_FREE_SERVICE, "category": "utility"}
_REGULAR = {
    c: {"billable": True, "pricing_model": "PMP", "type": "regular", "category": c}
    for c in ("utility", "marketing", "authentication")
}


def _pricing(send: SendRequest, window_open: bool) -> dict[str, Any]:
    """Per-message pricing as reported from 2025-07-01 (reference §4.5, §5.6)."""
    if send.template is None:
        return _FREE_SERVICE
    category = send.template.config.category.lower()
    if window_open and category == "utility":
        return _FREE_UTILITY
    return _REGULAR[category]


def _mark_read(sandbox: Sandbox, body: dict[str, Any]) -> web.Response:
    receipt = parse_read_receipt(body)
    inbound = sandbox.state.inbound_by_id.get(receipt.message_id)
    if inbound is not None:
        inbound.read = True
    return graph_json({"success": True})
