"""Template management: `GET|POST|DELETE /{waba-id}/message_templates` (reference §6.1), and the
webhooks the sandbox sends when Meta would: `message_template_status_update` when a status
changes, `template_category_update` when a category is about to change or has changed (§5.6)."""

from __future__ import annotations

import base64
import time
from typing import Any, get_args

from aiohttp import web
from pydantic import ValidationError

from banditore.sandbox.config import TemplateCategory, TemplateConfig
from banditore.sandbox.errors import (
    GraphError,
    invalid_parameter,
    missing_parameter,
    unknown_object,
)
from banditore.sandbox.graph_http import graph_json
from banditore.sandbox.instance import Sandbox
from banditore.sandbox.messages_api import read_json
from banditore.sandbox.templates import Template

DEFAULT_FIELDS = ("name", "parameter_format", "components", "language", "status", "category", "id")
CATEGORIES: tuple[str, ...] = get_args(TemplateCategory)
# Meta announces an automated re-categorisation a day before it applies it.
CATEGORY_NOTICE_SECONDS = 24 * 3600


def _waba(request: web.Request, sandbox: Sandbox, method: str) -> str:
    waba_id = request.match_info["waba_id"]
    if waba_id not in sandbox.state.wabas():
        raise unknown_object(waba_id, method)
    return waba_id


def select_fields(obj: dict[str, Any], fields: str | None, node: str) -> dict[str, Any]:
    if not fields:
        return obj
    out: dict[str, Any] = {}
    for name in (f.strip() for f in fields.split(",")):
        if not name:
            continue
        if name not in obj:
            raise invalid_parameter(
                f"Tried accessing nonexisting field ({name}) on node type ({node})"
            )
        out[name] = obj[name]
    out.setdefault("id", obj["id"])
    return out


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def _index(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        raise invalid_parameter("Invalid paging cursor.") from None


async def list_templates(request: web.Request, sandbox: Sandbox) -> web.Response:
    waba_id = _waba(request, sandbox, "get")
    query = request.query
    templates = sandbox.state.templates.for_waba(waba_id)
    for key in ("name", "status", "category", "language"):
        wanted = query.get(key)
        if wanted:
            templates = [
                t for t in templates if str(getattr(t.config, key)).lower() == wanted.lower()
            ]
    try:
        limit = max(1, min(int(query.get("limit", "25")), 1000))
    except ValueError:
        raise invalid_parameter("Param limit must be an integer.") from None
    start = _index(query["after"]) + 1 if "after" in query else 0
    if "before" in query:
        start = max(0, _index(query["before"]) - limit)
    page = templates[start : start + limit]
    fields = query.get("fields")
    data = [select_fields(t.as_graph_object(), fields, "WhatsAppMessageTemplate") for t in page]
    result: dict[str, Any] = {"data": data}
    if page:
        last = start + len(page) - 1
        result["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(last)}}
        if last + 1 < len(templates):
            result["paging"]["next"] = str(
                request.url.update_query({"after": _cursor(last), "limit": str(limit)})
            )
        if start > 0:
            result["paging"]["previous"] = str(
                request.url.with_query(
                    {k: v for k, v in query.items() if k != "after"}
                ).update_query({"before": _cursor(start), "limit": str(limit)})
            )
    return graph_json(result)


def config_from_components(waba_id: str, body: dict[str, Any]) -> TemplateConfig:
    """Meta's create-template body → the sandbox's compact TemplateConfig."""
    for key in ("name", "language", "category", "components"):
        if not body.get(key):
            raise missing_parameter(key)
    components = body["components"]
    if not isinstance(components, list):
        raise invalid_parameter("Param components must be an array.")
    found: dict[str, dict[str, Any]] = {}
    for component in components:
        kind = str(component.get("type", "")).upper() if isinstance(component, dict) else ""
        if kind not in ("HEADER", "BODY", "FOOTER", "BUTTONS") or kind in found:
            raise invalid_parameter(f"Invalid or repeated component type {kind!r}.")
        found[kind] = component
    if "BODY" not in found:
        raise invalid_parameter("A template needs a BODY component.")
    header = found.get("HEADER", {})
    buttons = found.get("BUTTONS", {}).get("buttons", [])
    if not isinstance(buttons, list) or len(buttons) > 10:
        raise GraphError(100, "A template can have at most 10 buttons.", subcode=2388040)
    try:
        return TemplateConfig(
            name=body["name"],
            language=body["language"],
            category=str(body["category"]).upper(),
            status="PENDING",
            body=found["BODY"].get("text", ""),
            parameter_format=str(body.get("parameter_format", "positional")).lower(),
            header_format=str(header["format"]).upper() if header.get("format") else None,
            header_text=header.get("text"),
            footer=found.get("FOOTER", {}).get("text"),
            buttons=buttons,
            waba_id=waba_id,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GraphError(
            100, f"Invalid template field {where}: {first['msg']}", subcode=2388040
        ) from None


async def create_template(request: web.Request, sandbox: Sandbox) -> web.Response:
    waba_id = _waba(request, sandbox, "post")
    body = await read_json(request)
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    config = config_from_components(waba_id, body)
    registry = sandbox.state.templates
    if registry.find(waba_id, config.name, config.language) is not None:
        raise GraphError(
            100,
            f"Content in this language already exists: {config.name} ({config.language}).",
            subcode=2388024,
        )
    template = registry.add(config)
    return graph_json({"id": template.id, "status": "PENDING", "category": config.category})


async def delete_templates(request: web.Request, sandbox: Sandbox) -> web.Response:
    waba_id = _waba(request, sandbox, "delete")
    name = request.query.get("name")
    if not name:
        raise missing_parameter("name")
    deleted = sandbox.state.templates.delete(waba_id, name, request.query.get("hsm_id"))
    if not deleted:
        raise GraphError(100, f"Message template {name!r} was not found.", subcode=2593002)
    return graph_json({"success": True})


def set_status(
    sandbox: Sandbox, template: Template, status: str, reason: str | None = None
) -> Template:
    """Change a template's status and tell the business, as Meta's review does."""
    updated = sandbox.state.templates.set_status(template, status)
    value = {
        "event": status,
        **_identity(template),
        "reason": reason
        if reason is not None
        else ("NONE" if status != "REJECTED" else "INVALID_FORMAT"),
        "message_template_category": template.config.category,
    }
    sandbox.sender.enqueue_field(
        template.config.waba_id, "message_template_status_update", value, int(time.time())
    )
    return updated


def set_category(sandbox: Sandbox, template: Template, category: str) -> Template:
    """Change a template's category and tell the business (a completed change)."""
    updated = sandbox.state.templates.set_category(template, category)
    value = {
        **_identity(template),
        "previous_category": template.config.category,
        "new_category": category,
    }
    sandbox.sender.enqueue_field(
        template.config.waba_id, "template_category_update", value, int(time.time())
    )
    return updated


def announce_category(sandbox: Sandbox, template: Template, category: str) -> None:
    """Warn the business that `category` will replace the template's category in a day.

    Nothing changes yet, as with Meta: sends keep the current category until a completed
    change follows. In the impending notice `new_category` is the *current* category (Meta's
    naming, not a typo) and `correct_category` the coming one.
    """
    now = int(time.time())
    value = {
        **_identity(template),
        "correct_category": category,
        "new_category": template.config.category,
        "category_update_timestamp": now + CATEGORY_NOTICE_SECONDS,
    }
    sandbox.sender.enqueue_field(template.config.waba_id, "template_category_update", value, now)


def _identity(template: Template) -> dict[str, Any]:
    """The fields every template webhook opens with."""
    return {
        "message_template_id": int(template.id),
        "message_template_name": template.config.name,
        "message_template_language": template.config.language,
    }
