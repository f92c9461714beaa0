"""Validation of `POST /{phone-number-id}/messages` bodies, as strict as Meta's.

Hand-written rather than a pydantic model on purpose: every rule has to fail with Meta's own
code and wording (see errors.py), and this path must stay cheap at thousands of requests per
second. The result is a typed `SendRequest`, so nothing downstream touches the raw dict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from banditore.sandbox import interactive
from banditore.sandbox.errors import GraphError, invalid_parameter, missing_parameter
from banditore.sandbox.phones import normalise_number
from banditore.sandbox.templates import Template, TemplateRegistry, substitute

MESSAGE_TYPES = frozenset(
    {
        "text",
        "template",
        "image",
        "document",
        "video",
        "audio",
        "sticker",
        "interactive",
        "location",
        "contacts",
        "reaction",
    }
)
MEDIA_TYPES = ("image", "document", "video", "audio", "sticker")
_CAPTIONED = frozenset({"image", "video", "document"})
_LINK = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_BAD_TEXT_PARAM = re.compile(r"[\n\t]| {5,}")

TEXT_BODY_MAX = 4096
CAPTION_MAX = 1024
TEMPLATE_BODY_MAX = 1024
BIZ_OPAQUE_MAX = 512


@dataclass(slots=True)
class SendRequest:
    """A send that passed validation, with what a human would see on the phone."""

    to_input: str
    wa_id: str
    type: str
    text: str
    content: dict[str, Any]
    template: Template | None = None
    header: str | None = None
    footer: str | None = None
    context_id: str | None = None
    biz_opaque_callback_data: str | None = None
    media: dict[str, Any] | None = field(default=None)

    @property
    def needs_open_window(self) -> bool:
        # Only templates may be delivered outside the 24 h window (reference §5.7).
        return self.type != "template"


@dataclass(slots=True)
class ReadReceipt:
    message_id: str
    typing: bool


MediaLookup = Callable[[str], bool]


def _require_dict(body: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        raise missing_parameter(path)
    if not isinstance(value, dict):
        raise invalid_parameter(f"Param {path} must be a JSON object.")
    return value


def _require_str(obj: dict[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise missing_parameter(path)
    if not isinstance(value, str):
        raise invalid_parameter(f"Param {path} must be a string.")
    return value


def parse_read_receipt(body: dict[str, Any]) -> ReadReceipt:
    if body.get("messaging_product") != "whatsapp":
        _check_product(body)
    if body.get("status") != "read":
        raise invalid_parameter("Param status must be one of {read}.")
    message_id = _require_str(body, "message_id", "message_id")
    typing = body.get("typing_indicator")
    if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
        raise invalid_parameter("Param typing_indicator['type'] must be one of {text}.")
    return ReadReceipt(message_id, typing is not None)


def _check_product(body: dict[str, Any]) -> None:
    product = body.get("messaging_product")
    if product is None:
        raise missing_parameter("messaging_product")
    if product != "whatsapp":
        raise invalid_parameter(
            f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".'
        )


def parse_send(
    body: Any,
    *,
    own_number: str,
    templates: TemplateRegistry,
    waba_id: str,
    media_exists: MediaLookup,
) -> SendRequest:
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    _check_product(body)
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type != "individual":
        # Groups (2025+) are not emulated; say so instead of pretending.
        raise invalid_parameter(
            f"Param recipient_type must be one of {{individual}} in the sandbox - got "
            f'"{recipient_type}".'
        )
    to = body.get("to")
    if to is None or to == "":
        raise missing_parameter("to")
    wa_id = normalise_number(to)
    if wa_id == own_number:
        raise GraphError(131021)

    type_ = body.get("type", "text")
    if type_ not in MESSAGE_TYPES:
        raise GraphError(131051, f"Message type '{type_}' is not supported.")
    content = body.get(type_)
    if content is None:
        raise GraphError(131008, f"Parameter '{type_}' is required for type '{type_}'.")
    if not isinstance(content, (dict, list)):
        raise invalid_parameter(f"Param {type_} must be a JSON object.")

    context = body.get("context")
    context_id = None
    if context is not None:
        if not isinstance(context, dict):
            raise invalid_parameter("Param context must be a JSON object.")
        context_id = _require_str(context, "message_id", "context['message_id']")

    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > BIZ_OPAQUE_MAX):
        raise invalid_parameter(
            "Param biz_opaque_callback_data must be a string of at most "
            f"{BIZ_OPAQUE_MAX} characters."
        )

    request = SendRequest(
        to_input=to,
        wa_id=wa_id,
        type=type_,
        text="",
        content=content,
        context_id=context_id,
        biz_opaque_callback_data=opaque,
    )
    if type_ == "text":
        _parse_text(content, request)
    elif type_ == "template":
        _parse_template(content, request, templates, waba_id, media_exists)
    elif type_ in MEDIA_TYPES:
        request.media = _parse_media(type_, content, media_exists)
        request.text = request.media.get("caption", "")
    elif type_ == "interactive":
        request.text = interactive.validate(content)
    elif type_ == "location":
        request.text = _parse_location(content)
    elif type_ == "contacts":
        request.text = _parse_contacts(content)
    elif type_ == "reaction":
        request.text = _parse_reaction(content)
    return request


def _parse_text(content: dict[str, Any], request: SendRequest) -> None:
    body = _require_str(content, "body", "text['body']")
    if len(body) > TEXT_BODY_MAX:
        raise invalid_parameter(
            f"Param text['body'] must be at most {TEXT_BODY_MAX} characters long."
        )
    preview = content.get("preview_url", False)
    if not isinstance(preview, bool):
        raise invalid_parameter("Param text['preview_url'] must be a boolean.")
    request.text = body


def _parse_media(type_: str, content: dict[str, Any], media_exists: MediaLookup) -> dict[str, Any]:
    media_id, link = content.get("id"), content.get("link")
    if (media_id is None) == (link is None):
        raise invalid_parameter(f"Param {type_} must have exactly one of 'id' or 'link'.")
    if link is not None and (not isinstance(link, str) or not _LINK.match(link)):
        raise GraphError(131009, f"Param {type_}['link'] must be an http(s) URL.")
    if media_id is not None and (not isinstance(media_id, str) or not media_exists(media_id)):
        raise GraphError(131009, f"Param {type_}['id'] is not a valid media id: {media_id!r}.")
    caption = content.get("caption")
    if caption is not None:
        if type_ not in _CAPTIONED:
            raise invalid_parameter(
                f"Param {type_}['caption'] is not allowed for {type_} messages."
            )
        if not isinstance(caption, str) or len(caption) > CAPTION_MAX:
            raise invalid_parameter(
                f"Param {type_}['caption'] must be at most {CAPTION_MAX} characters."
            )
    filename = content.get("filename")
    if filename is not None and type_ != "document":
        raise invalid_parameter(f"Param {type_}['filename'] is only allowed for documents.")
    return {k: v for k, v in content.items() if k in ("id", "link", "caption", "filename")}


def _parse_location(content: dict[str, Any]) -> str:
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = content.get(key)
        if value is None:
            raise missing_parameter(f"location['{key}']")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise invalid_parameter(f"Param location['{key}'] must be a number.") from None
        if not -bound <= number <= bound:
            raise invalid_parameter(f"Param location['{key}'] is out of range.")
    return " - ".join(str(content[k]) for k in ("name", "address") if content.get(k))


def _parse_contacts(content: Any) -> str:
    if not isinstance(content, list) or not content:
        raise invalid_parameter("Param contacts must be a non-empty array.")
    names = []
    for i, contact in enumerate(content):
        if not isinstance(contact, dict):
            raise invalid_parameter(f"Param contacts[{i}] must be a JSON object.")
        name = _require_dict(contact, "name", f"contacts[{i}]['name']")
        names.append(
            _require_str(name, "formatted_name", f"contacts[{i}]['name']['formatted_name']")
        )
    return ", ".join(names)


def _parse_reaction(content: dict[str, Any]) -> str:
    _require_str(content, "message_id", "reaction['message_id']")
    emoji = content.get("emoji")
    if emoji is None or not isinstance(emoji, str):
        raise missing_parameter("reaction['emoji']")
    return emoji  # empty = remove the reaction


# --- templates -------------------------------------------------------------------------------


def _parse_template(
    content: dict[str, Any],
    request: SendRequest,
    registry: TemplateRegistry,
    waba_id: str,
    media_exists: MediaLookup,
) -> None:
    name = _require_str(content, "name", "template['name']")
    language = _require_dict(content, "language", "template['language']")
    code = _require_str(language, "code", "template['language']['code']")
    template = registry.find(waba_id, name, code)
    if template is None or template.config.status in ("PENDING", "REJECTED"):
        raise GraphError(132001, f"template name ({name}) does not exist in {code}")
    if template.config.status == "PAUSED":
        raise GraphError(132015, f"Template {name} is paused.")
    if template.config.status == "DISABLED":
        raise GraphError(132016, f"Template {name} is disabled.")

    components = content.get("components", [])
    if not isinstance(components, list):
        raise invalid_parameter("Param template['components'] must be an array.")
    body_params: list[Any] = []
    header_params: list[Any] = []
    for i, component in enumerate(components):
        if not isinstance(component, dict):
            raise invalid_parameter(f"Param template['components'][{i}] must be a JSON object.")
        kind = str(component.get("type", "")).lower()
        params = component.get("parameters", [])
        if not isinstance(params, list):
            raise invalid_parameter(
                f"Param template['components'][{i}]['parameters'] must be an array."
            )
        if kind == "body":
            body_params.extend(params)
        elif kind == "header":
            header_params.extend(params)
        elif kind == "button":
            _check_button(component, i)
        else:
            raise invalid_parameter(
                f"Param template['components'][{i}]['type'] must be one of "
                "{HEADER, BODY, BUTTON}."
            )

    other_components = template.config.header_format is not None or bool(template.config.footer)
    other_components = other_components or bool(template.config.buttons)
    values = _body_values(template, body_params, other_components)
    rendered = substitute(template.config.body, values)
    if len(rendered) > TEMPLATE_BODY_MAX:
        raise GraphError(
            132005,
            f"body: hydrated text is {len(rendered)} characters long, max {TEMPLATE_BODY_MAX}.",
        )
    request.template = template
    request.text = rendered
    request.header = _header(template, header_params, media_exists)
    request.footer = template.config.footer


def _text_of(param: Any, where: str, max_len: int) -> str:
    if not isinstance(param, dict):
        raise invalid_parameter(f"Param {where} must be a JSON object.")
    kind = param.get("type")
    if kind == "text":
        value = param.get("text")
        if value is None or value == "":
            raise invalid_parameter(
                "Parameter 'text' is mandatory for component parameter type 'text'"
            )
        if not isinstance(value, str):
            raise GraphError(132012, f"{where}: text must be a string.")
        if _BAD_TEXT_PARAM.search(value):
            raise invalid_parameter(
                "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
            )
        if len(value) > max_len:
            raise invalid_parameter(f"Param {where}['text'] must be at most {max_len} characters.")
        return value
    if kind in ("currency", "date_time"):
        obj = param.get(kind)
        if not isinstance(obj, dict):
            raise missing_parameter(f"{where}['{kind}']")
        fallback = obj.get("fallback_value")
        if not isinstance(fallback, str) or not fallback:
            raise missing_parameter(f"{where}['{kind}']['fallback_value']")
        amount_ok = isinstance(obj.get("code"), str) and isinstance(obj.get("amount_1000"), int)
        if kind == "currency" and not amount_ok:
            raise GraphError(132012, f"{where}: currency needs 'code' and integer 'amount_1000'.")
        # Cloud API always renders the fallback value (it does not localise).
        return fallback
    raise GraphError(132012, f"{where}: parameter type {kind!r} is not valid here.")


def _body_values(template: Template, params: list[Any], other_components: bool) -> dict[str, str]:
    expected = template.body_variables
    if len(params) != len(expected):
        raise GraphError(
            132000,
            f"body: number of localizable_params ({len(params)}) does not match the expected "
            f"number of params ({len(expected)})",
        )
    max_len = 1024 if other_components else 32768
    if template.config.parameter_format == "named":
        values = {}
        for i, param in enumerate(params):
            name = param.get("parameter_name") if isinstance(param, dict) else None
            if name not in expected:
                raise GraphError(132012, f"body: parameter_name {name!r} is not in the template.")
            values[name] = _text_of(param, f"body parameter {i}", max_len)
        return values
    return {
        var: _text_of(param, f"body parameter {i}", max_len)
        for i, (var, param) in enumerate(zip(expected, params, strict=True))
    }


def _header(template: Template, params: list[Any], media_exists: MediaLookup) -> str | None:
    fmt = template.config.header_format
    if fmt is None or fmt == "TEXT":
        expected = template.header_variables
        if len(params) != len(expected):
            raise GraphError(
                132000,
                f"header: number of localizable_params ({len(params)}) does not match the "
                f"expected number of params ({len(expected)})",
            )
        if fmt is None:
            return None
        values = {
            v: _text_of(p, "header parameter", 60) for v, p in zip(expected, params, strict=True)
        }
        return substitute(template.config.header_text or "", values)
    if fmt == "LOCATION":
        return None
    wanted = fmt.lower()
    got = params[0].get("type") if len(params) == 1 and isinstance(params[0], dict) else None
    if got != wanted:
        received = str(got).upper() if got else "UNKNOWN"
        raise GraphError(132012, f"header: Format mismatch, expected {fmt}, received {received}")
    media = _parse_media(wanted, params[0].get(wanted) or {}, media_exists)
    return f"[{wanted}] {media.get('link') or media.get('id')}"


_BUTTON_SUB_TYPES = frozenset(
    {
        "quick_reply",
        "url",
        "catalog",
        "flow",
        "copy_code",
        "otp",
        "mpm",
        "voice_call",
        "order_details",
    }
)


def _check_button(component: dict[str, Any], i: int) -> None:
    sub_type = str(component.get("sub_type", "")).lower()
    if sub_type not in _BUTTON_SUB_TYPES:
        raise invalid_parameter(f"Param template['components'][{i}]['sub_type'] is not valid.")
    index = component.get("index")
    try:
        index_ok = 0 <= int(index) <= 9  # string or number, like Meta accepts
    except (TypeError, ValueError):
        index_ok = False
    if not index_ok:
        raise invalid_parameter(f"Param template['components'][{i}]['index'] must be 0-9.")
