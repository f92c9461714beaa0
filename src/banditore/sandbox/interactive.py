"""Validation of interactive messages: reply buttons, lists and CTA URL buttons are checked
against Meta's limits (reference §2.5); the other interactive kinds (products, flows, orders,
location and address requests) get a structural check only."""

from __future__ import annotations

import re
from typing import Any

from banditore.sandbox.errors import GraphError, invalid_parameter, missing_parameter

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_LOOSE_KINDS = frozenset(
    {
        "product",
        "product_list",
        "catalog_message",
        "flow",
        "order_details",
        "order_status",
        "location_request_message",
        "address_message",
        "call_permission_request",
        "carousel",
        "voice_call",
    }
)


def _text(obj: Any, path: str, limit: int, required: bool = True) -> str | None:
    if obj is None:
        if required:
            raise missing_parameter(path)
        return None
    if not isinstance(obj, str) or (required and not obj):
        raise invalid_parameter(f"Param {path} must be a non-empty string.")
    if len(obj) > limit:
        raise invalid_parameter(f"Param {path} must be at most {limit} characters long.")
    return obj


def _section_text(interactive: dict[str, Any], key: str, limit: int, required: bool) -> str | None:
    part = interactive.get(key)
    if part is None:
        if required:
            raise missing_parameter(f"interactive['{key}']")
        return None
    if not isinstance(part, dict):
        raise invalid_parameter(f"Param interactive['{key}'] must be a JSON object.")
    return _text(part.get("text"), f"interactive['{key}']['text']", limit, required)


def _header(interactive: dict[str, Any], kind: str) -> None:
    header = interactive.get("header")
    if header is None:
        return
    if not isinstance(header, dict):
        raise invalid_parameter("Param interactive['header'] must be a JSON object.")
    header_type = header.get("type")
    if header_type == "text":
        _text(header.get("text"), "interactive['header']['text']", 60)
    elif header_type in ("image", "video", "document") and kind in ("button", "cta_url"):
        media = header.get(header_type)
        if not isinstance(media, dict) or ("id" in media) == ("link" in media):
            raise invalid_parameter(
                f"Param interactive['header']['{header_type}'] must have exactly one of id or link."
            )
    else:
        raise invalid_parameter(f"Param interactive['header']['type'] is not valid for {kind}.")


def validate(interactive: dict[str, Any]) -> str:
    """Check an `interactive` object; return its body text (what the phone shows first)."""
    kind = interactive.get("type")
    if kind is None:
        raise missing_parameter("interactive['type']")
    action = interactive.get("action")
    if kind in _LOOSE_KINDS:
        if kind not in ("product", "product_list", "catalog_message") and action is None:
            raise missing_parameter("interactive['action']")
        if action is not None and not isinstance(action, dict):
            raise invalid_parameter("Param interactive['action'] must be a JSON object.")
        return _section_text(interactive, "body", 4096, required=False) or f"[{kind}]"
    if kind not in ("button", "list", "cta_url"):
        raise GraphError(131009, f"Param interactive['type'] {kind!r} is not valid.")
    if not isinstance(action, dict):
        raise missing_parameter("interactive['action']")
    _header(interactive, kind)
    body = _section_text(interactive, "body", 4096 if kind == "list" else 1024, required=True)
    _section_text(interactive, "footer", 60, required=False)
    if kind == "button":
        _buttons(action)
    elif kind == "list":
        _list(action)
    else:
        _cta_url(action)
    return body or ""


def _buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise invalid_parameter("Param interactive['action']['buttons'] must have 1 to 3 buttons.")
    ids, titles = set(), set()
    for i, button in enumerate(buttons):
        path = f"interactive['action']['buttons'][{i}]"
        if not isinstance(button, dict) or button.get("type") != "reply":
            raise invalid_parameter(f"Param {path}['type'] must be reply.")
        reply = button.get("reply")
        if not isinstance(reply, dict):
            raise missing_parameter(f"{path}['reply']")
        button_id = _text(reply.get("id"), f"{path}['reply']['id']", 256)
        title = _text(reply.get("title"), f"{path}['reply']['title']", 20)
        if button_id != (button_id or "").strip():
            raise invalid_parameter(
                f"Param {path}['reply']['id'] cannot have leading or trailing spaces."
            )
        if button_id in ids or title in titles:
            raise invalid_parameter("Buttons must have unique ids and titles.")
        ids.add(button_id)
        titles.add(title)


def _list(action: dict[str, Any]) -> None:
    _text(action.get("button"), "interactive['action']['button']", 20)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise invalid_parameter(
            "Param interactive['action']['sections'] must have 1 to 10 sections."
        )
    rows_total = 0
    row_ids: set[str] = set()
    for i, section in enumerate(sections):
        path = f"interactive['action']['sections'][{i}]"
        if not isinstance(section, dict):
            raise invalid_parameter(f"Param {path} must be a JSON object.")
        _text(section.get("title"), f"{path}['title']", 24, required=len(sections) > 1)
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise invalid_parameter(f"Param {path}['rows'] must be a non-empty array.")
        for j, row in enumerate(rows):
            row_path = f"{path}['rows'][{j}]"
            if not isinstance(row, dict):
                raise invalid_parameter(f"Param {row_path} must be a JSON object.")
            row_id = _text(row.get("id"), f"{row_path}['id']", 200)
            _text(row.get("title"), f"{row_path}['title']", 24)
            _text(row.get("description"), f"{row_path}['description']", 72, required=False)
            if row_id in row_ids:
                raise invalid_parameter("List rows must have unique ids.")
            row_ids.add(row_id or "")
        rows_total += len(rows)
    if rows_total > 10:
        raise invalid_parameter("A list message can have at most 10 rows in total.")


def _cta_url(action: dict[str, Any]) -> None:
    if action.get("name") != "cta_url":
        raise invalid_parameter("Param interactive['action']['name'] must be cta_url.")
    params = action.get("parameters")
    if not isinstance(params, dict):
        raise missing_parameter("interactive['action']['parameters']")
    _text(params.get("display_text"), "interactive['action']['parameters']['display_text']", 20)
    url = _text(params.get("url"), "interactive['action']['parameters']['url']", 2000)
    if not _URL.match(url or ""):
        raise invalid_parameter(
            "Param interactive['action']['parameters']['url'] must be an http(s) URL."
        )
