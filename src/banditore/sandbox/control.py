"""The control API under `/_sandbox/`: act as a citizen, look at what citizens received, read
and change the config, inject faults, reset. JSON in, JSON out; no token needed (it is a
local test tool, bound to 127.0.0.1 by default)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from banditore.sandbox.config import merge_config
from banditore.sandbox.ids import bsuid, new_wamid
from banditore.sandbox.instance import SANDBOX_KEY, Sandbox
from banditore.sandbox.phones import normalise_lenient
from banditore.sandbox.state import InboundMessage, NumberState
from banditore.sandbox.templates import Template
from banditore.sandbox.templates_api import (
    CATEGORIES,
    announce_category,
    set_category,
    set_status,
)


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise ControlError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def control_endpoint(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request, _sandbox(request))
        except ControlError as exc:
            return _json({"error": str(exc)}, status=exc.status)
        except (ValidationError, ValueError) as exc:
            return _json({"error": str(exc)}, status=400)

    return wrapped


def _number(sandbox: Sandbox, phone_number_id: Any) -> NumberState:
    if phone_number_id is None:
        if not sandbox.state.numbers:
            raise ControlError("the sandbox has no business numbers")
        return next(iter(sandbox.state.numbers.values()))
    number = sandbox.state.numbers.get(str(phone_number_id))
    if number is None:
        raise ControlError(f"unknown phone_number_id {phone_number_id}", status=404)
    return number


# --- act as a citizen --------------------------------------------------------------------------


@control_endpoint
async def inbound(request: web.Request, sandbox: Sandbox) -> web.Response:
    """A citizen writes to a business number: inbound webhook + 24 h window opens."""
    data = await _body(request)
    sender, text = data.get("from"), data.get("text")
    if not isinstance(sender, str) or not sender:
        raise ControlError("'from' is required, e.g. \"+393331234567\"")
    reply = _reply_part(data)
    if reply is not None:
        text = reply[2]
    elif not isinstance(text, str) or not text:
        raise ControlError("'text' is required (or 'button' / 'button_reply' / 'list_reply')")
    wa_id = normalise_lenient(sender)
    number = _number(sandbox, data.get("phone_number_id"))
    name = data.get("name") or "Cittadino"
    now = time.time()
    message = InboundMessage(
        id=new_wamid(wa_id),
        phone_number_id=number.config.phone_number_id,
        sender=wa_id,
        name=str(name),
        type=reply[0] if reply else "text",
        text=text,
        timestamp=now,
        context_id=data.get("context_id"),
    )
    sandbox.state.record_inbound(message)
    number.windows[wa_id] = now
    payload: dict[str, Any] = {
        "from": wa_id,
        "id": message.id,
        "timestamp": str(int(now)),
        "type": "text",
        "text": {"body": text},
    }
    if reply is not None:
        del payload["text"]
        payload["type"], payload[reply[0]] = reply[0], reply[1]
    if message.context_id:
        payload["context"] = {"from": number.config.display_phone_number, "id": message.context_id}
    contact: dict[str, Any] = {"profile": {"name": message.name}, "wa_id": wa_id}
    if sandbox.state.config.webhooks.user_ids:
        user_id = bsuid(number.config.waba_id, wa_id)
        contact["user_id"] = user_id
        payload["from_user_id"] = user_id
    sandbox.sender.enqueue_message(number.config.phone_number_id, payload, contact)
    sandbox.state.stats["inbound_messages"] += 1
    return _json({"id": message.id})


def _reply_part(data: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
    """A tap instead of typed text: (message type, its object, the text a human sees).

    `button` = a template quick-reply button (`{"payload", "text"}`); `button_reply` and
    `list_reply` = answers to interactive messages (`{"id", "title"}`, list rows may add
    `description`). Meta sends these with `context` pointing at the business's message.
    """
    if isinstance(data.get("button"), dict):
        button = data["button"]
        if not button.get("text"):
            raise ControlError("'button' needs 'text' (and usually 'payload')")
        return (
            "button",
            {"payload": button.get("payload", button["text"]), "text": button["text"]},
            button["text"],
        )
    for kind in ("button_reply", "list_reply"):
        part = data.get(kind)
        if isinstance(part, dict):
            if not part.get("id") or not part.get("title"):
                raise ControlError(f"'{kind}' needs 'id' and 'title'")
            return "interactive", {"type": kind, kind: part}, part["title"]
    return None


@control_endpoint
async def user_preferences(request: web.Request, sandbox: Sandbox) -> web.Response:
    """A citizen taps "Stop promotions" (or resumes): `{"from", "value": "stop"|"resume"}`.
    Later marketing sends fail with 131050; a `user_preferences` webhook tells the business."""
    data = await _body(request)
    value = data.get("value")
    if value not in ("stop", "resume"):
        raise ControlError("'value' must be 'stop' or 'resume'")
    wa_id = normalise_lenient(str(data.get("from", "")))
    number = _number(sandbox, data.get("phone_number_id"))
    if value == "stop":
        sandbox.state.marketing_opted_out.add(wa_id)
    else:
        sandbox.state.marketing_opted_out.discard(wa_id)
    now = int(time.time())
    webhook_value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.config.display_phone_number,
            "phone_number_id": number.config.phone_number_id,
        },
        "contacts": [{"wa_id": wa_id}],
        "user_preferences": [
            {
                "wa_id": wa_id,
                "detail": "User requested to stop marketing messages"
                if value == "stop"
                else "User requested to resume marketing messages",
                "category": "marketing_messages",
                "value": value,
                "timestamp": now,
            }
        ],
    }
    sandbox.sender.enqueue_field(number.config.waba_id, "user_preferences", webhook_value, now)
    return _json({"success": True})


@control_endpoint
async def verify_callback(request: web.Request, sandbox: Sandbox) -> web.Response:
    """Meta's GET handshake against a number's callback URL (reference §4.2)."""
    data = await _body(request)
    number = _number(sandbox, data.get("phone_number_id"))
    url = number.callback_url
    if not url:
        raise ControlError("this number has no callback URL")
    challenge = str(secrets.randbelow(10**10))
    params = {
        "hub.mode": "subscribe",
        "hub.challenge": challenge,
        "hub.verify_token": str(data.get("verify_token", sandbox.state.config.verify_token)),
    }
    try:
        async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
            body = await resp.text()
            status = resp.status
    except (aiohttp.ClientError, OSError) as exc:
        return _json({"verified": False, "error": str(exc)})
    return _json(
        {"verified": status == 200 and body == challenge, "status": status, "body": body[:200]}
    )


# --- look at what citizens received ------------------------------------------------------------


@control_endpoint
async def messages(request: web.Request, sandbox: Sandbox) -> web.Response:
    """What a number received from the business, oldest first."""
    to = request.query.get("to")
    phone_number_id = request.query.get("phone_number_id")
    if to:
        items = sandbox.state.outbound.get(normalise_lenient(to), [])
    else:
        items = [m for ms in sandbox.state.outbound.values() for m in ms]
        items.sort(key=lambda m: m.timestamp)
    if phone_number_id:
        items = [m for m in items if m.phone_number_id == phone_number_id]
    return _json([m.as_json() for m in items])


@control_endpoint
async def conversation(request: web.Request, sandbox: Sandbox) -> web.Response:
    """Both directions of one citizen's chat with one business number, oldest first."""
    with_ = request.query.get("with")
    if not with_:
        raise ControlError("'with' is required, e.g. ?with=%2B393331234567")
    wa_id = normalise_lenient(with_)
    number = _number(sandbox, request.query.get("phone_number_id"))
    pid = number.config.phone_number_id
    timed: list[tuple[float, dict[str, Any]]] = [
        (m.timestamp, {"direction": "out", **m.as_json()})
        for m in sandbox.state.outbound.get(wa_id, [])
        if m.phone_number_id == pid
    ]
    timed += [
        (m.timestamp, {"direction": "in", **m.as_json()})
        for m in sandbox.state.inbound.get(wa_id, [])
        if m.phone_number_id == pid
    ]
    merged = [item for _, item in sorted(timed, key=lambda pair: pair[0])]
    open_ = number.window_open(wa_id, time.time(), sandbox.state.config.limits.window_seconds)
    return _json(
        {"with": "+" + wa_id, "phone_number_id": pid, "window_open": open_, "messages": merged}
    )


@control_endpoint
async def contacts(request: web.Request, sandbox: Sandbox) -> web.Response:
    """Every citizen number the sandbox has seen, for each business number."""
    number = _number(sandbox, request.query.get("phone_number_id"))
    pid = number.config.phone_number_id
    seen: dict[str, float] = {}
    for wa_id, items in sandbox.state.outbound.items():
        for m in items:
            if m.phone_number_id == pid:
                seen[wa_id] = max(seen.get(wa_id, 0), m.timestamp)
    for wa_id, items in sandbox.state.inbound.items():
        for m in items:
            if m.phone_number_id == pid:
                seen[wa_id] = max(seen.get(wa_id, 0), m.timestamp)
    ordered = sorted(seen.items(), key=lambda kv: kv[1], reverse=True)
    return _json([{"number": "+" + wa_id, "last": int(t)} for wa_id, t in ordered])


# --- templates -----------------------------------------------------------------------------------


@control_endpoint
async def template_status(request: web.Request, sandbox: Sandbox) -> web.Response:
    """Play Meta's review: `{"name", "language", "status", "waba_id"?, "reason"?}` changes a
    template's status and sends the `message_template_status_update` webhook."""
    data = await _body(request)
    status = data.get("status")
    if status not in ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"):
        raise ControlError("'status' must be APPROVED, PENDING, REJECTED, PAUSED or DISABLED")
    template = _template(sandbox, data)
    return _json(set_status(sandbox, template, status, data.get("reason")).as_graph_object())


@control_endpoint
async def template_category(request: web.Request, sandbox: Sandbox) -> web.Response:
    """Play Meta's re-categorisation: `{"name", "language", "category", "waba_id"?,
    "impending"?}` changes the category and sends `template_category_update` with
    previous/new category; with `"impending": true` it changes nothing yet and sends the
    notice of a change due in 24 hours."""
    data = await _body(request)
    category = data.get("category")
    if category not in CATEGORIES:
        raise ControlError("'category' must be " + ", ".join(CATEGORIES))
    impending = data.get("impending", False)
    if not isinstance(impending, bool):
        raise ControlError("'impending' must be true or false")
    template = _template(sandbox, data)
    if template.config.category == category:
        raise ControlError(f"the template is already {category}")
    if impending:
        announce_category(sandbox, template, category)
        return _json(template.as_graph_object())
    return _json(set_category(sandbox, template, category).as_graph_object())


def _template(sandbox: Sandbox, data: dict[str, Any]) -> Template:
    name, language = data.get("name"), data.get("language")
    if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
        raise ControlError("'name' and 'language' are required, e.g. \"banditore_notizia\", \"it\"")
    waba_id = str(data.get("waba_id") or _number(sandbox, None).config.waba_id)
    template = sandbox.state.templates.find(waba_id, name, language)
    if template is None:
        raise ControlError("no such template (name, language, waba_id)", status=404)
    return template


# --- config, faults, reset, stats --------------------------------------------------------------


def config_view(request: web.Request, sandbox: Sandbox) -> dict[str, Any]:
    config = sandbox.state.config
    return {
        "graph_base_url": f"{request.scheme}://{request.host}",
        "api_version": config.api_version,
        "access_token": config.access_token,
        "app_secret": config.app_secret,
        "verify_token": config.verify_token,
        "callback_url": config.callback_url,
        "numbers": [
            {
                "phone_number_id": n.config.phone_number_id,
                "display_phone_number": n.config.display_phone_number,
                "waba_id": n.config.waba_id,
                "verified_name": n.config.verified_name,
                "callback_url": n.callback_url,
                "mps": n.mps,
                "quality_rating": n.config.quality_rating,
                "messaging_limit_tier": n.tier,
            }
            for n in sandbox.state.numbers.values()
        ],
        "templates": [t.as_graph_object() for t in _all_templates(sandbox)],
        "settings": config.model_dump(exclude={"numbers", "templates"}),
    }


def _all_templates(sandbox: Sandbox) -> list[Any]:
    return [
        t for waba in sorted(sandbox.state.wabas()) for t in sandbox.state.templates.for_waba(waba)
    ]


@control_endpoint
async def get_config(request: web.Request, sandbox: Sandbox) -> web.Response:
    return _json(config_view(request, sandbox))


@control_endpoint
async def post_config(request: web.Request, sandbox: Sandbox) -> web.Response:
    """Change knobs at run time. `{"callback_url": ..., "phone_number_id": ...}` sets one
    number's callback; without `phone_number_id` it sets the default. Any other key is a
    (partial) SandboxConfig: `{"webhooks": {"read_after_ms": 10}, "limits": {"mps": 5}}`."""
    data = await _body(request)
    phone_number_id = data.pop("phone_number_id", None)
    if phone_number_id is not None:
        _number(sandbox, phone_number_id)
        if "callback_url" in data:
            numbers = data.setdefault("numbers", [])
            numbers.append(
                {"phone_number_id": str(phone_number_id), "callback_url": data.pop("callback_url")}
            )
    for frozen in ("host", "port"):
        if frozen in data:
            raise ControlError(f"'{frozen}' cannot change while the sandbox runs")
    sandbox.apply_config(merge_config(sandbox.state.config, data))
    return _json(config_view(request, sandbox))


@control_endpoint
async def reset(request: web.Request, sandbox: Sandbox) -> web.Response:
    sandbox.reset()
    return _json({"success": True})


@control_endpoint
async def stats(request: web.Request, sandbox: Sandbox) -> web.Response:
    return _json(
        {
            **dict(sandbox.state.stats),
            "webhook_queue": sandbox.sender.queue.qsize(),
            "webhooks_idle": sandbox.sender.idle,
            "uptime_s": round(time.time() - sandbox.state.started_at, 3),
        }
    )


@control_endpoint
async def get_faults(request: web.Request, sandbox: Sandbox) -> web.Response:
    return _json(sandbox.faults.describe())


@control_endpoint
async def post_faults(request: web.Request, sandbox: Sandbox) -> web.Response:
    return _json(sandbox.faults.add(await _body(request)))


@control_endpoint
async def delete_faults(request: web.Request, sandbox: Sandbox) -> web.Response:
    sandbox.faults.clear()
    return _json(sandbox.faults.describe())
