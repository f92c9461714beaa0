"""The production adapter: sends messages to the Cloud API over aiohttp.

One ClientSession (pooled keep-alive connections) is shared by every channel of a process;
a WhatsAppClient only adds the channel's URL and token. The same code talks to Meta and to
the sandbox: only `base_url` differs.
"""

import json

import aiohttp

from banditore.broadcasts.templating import flatten
from banditore.channels.base import SendResult
from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.errors import NETWORK_ERROR, GraphError, parse_graph_error

# Meta's message ids are ~60 characters; anything far longer is not one.
WAMID_MAX = 128

# The hydrated body must stay within 1,024 characters (reference §2.3).
TEMPLATE_PARAM_MAX = 900
TEXT_MAX = 4096


def template_param(text: str) -> str:
    """Make free text acceptable as a template parameter: one line, no runs of spaces."""
    return flatten(text)[:TEMPLATE_PARAM_MAX]


def text_payload(to: str, body: str, *, preview_url: bool = True, callback: str = "") -> dict:
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body[:TEXT_MAX], "preview_url": preview_url},
    }
    if callback:
        payload["biz_opaque_callback_data"] = callback
    return payload


def text_param(value: str, name: str | None = None) -> dict:
    param = {"type": "text", "text": value}
    if name is not None:
        param["parameter_name"] = name
    return param


def media_object(kind: str, media_id: str, *, caption: str = "", filename: str = "") -> dict:
    """An uploaded image or document, by id (reference §7): with its caption when sent as a
    message of its own, with the name a citizen sees for a document."""
    media = {"id": media_id}
    if caption:
        media["caption"] = caption[:1024]
    if kind == "document" and filename:
        media["filename"] = filename
    return media


def media_payload(to: str, kind: str, media: dict, *, callback: str = "") -> dict:
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: media,
    }
    if callback:
        payload["biz_opaque_callback_data"] = callback
    return payload


def template_payload(
    to: str,
    name: str,
    language: str,
    params: list[str] | list[dict],
    *,
    header: list[dict] | None = None,
    callback: str = "",
) -> dict:
    """A template message. `params` are the body's: plain texts (made acceptable as
    parameters) or ready parameter objects; `header` the header's parameter objects."""
    body = [p if isinstance(p, dict) else text_param(template_param(p)) for p in params]
    components = []
    if header:
        components.append({"type": "header", "parameters": header})
    components.append({"type": "body", "parameters": body})
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }
    if callback:
        payload["biz_opaque_callback_data"] = callback
    return payload


class PreparedBody:
    """A message's JSON with only the recipient left to fill in.

    A broadcast sends the same request to everyone but the `to`, so it is serialised once;
    the recipient is E.164 and the callback an id, so neither needs JSON escaping.
    """

    def __init__(self, payload: dict):
        rest = {k: v for k, v in payload.items() if k not in ("to", "biz_opaque_callback_data")}
        self.prefix = json.dumps(rest, separators=(",", ":"))[:-1] + ',"to":"'

    def render(self, to: str, callback: str) -> bytes:
        return f'{self.prefix}{to}","biz_opaque_callback_data":"{callback}"}}'.encode()


class TemplateBody(PreparedBody):
    def __init__(self, name: str, language: str, params: list, *, header: list[dict] | None = None):
        super().__init__(template_payload("", name, language, params, header=header))


class WhatsAppClient:
    def __init__(self, session: aiohttp.ClientSession, config: WhatsAppConfig, timeout: float = 30):
        self.session = session
        self.url = config.messages_url
        self.headers = {
            "Authorization": f"Bearer {config.access_token}",
            "Content-Type": "application/json",
        }
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, payload: dict | bytes) -> SendResult:
        """POST one message. Never raises for provider or network trouble: returns it."""
        if isinstance(payload, dict):
            data = json.dumps(payload, separators=(",", ":")).encode()
        else:
            data = payload
        try:
            async with self.session.post(
                self.url, data=data, headers=self.headers, timeout=self.timeout
            ) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # The message may or may not have been accepted; the caller retries (at-least-once).
            error = GraphError(NETWORK_ERROR, f"{type(exc).__name__}: {exc}")
            return SendResult(error=error.as_send_error())
        if status == 200:
            try:
                wamid = json.loads(body)["messages"][0]["id"]
            except (ValueError, KeyError, IndexError, TypeError):
                wamid = None
            if isinstance(wamid, str) and 0 < len(wamid) <= WAMID_MAX:
                return SendResult(provider_id=wamid)
            # Accepted, but we can't tell which message it is: retrying would send it twice.
            snippet = body[:200].decode("utf-8", "replace")
            return SendResult(provider_id="", note=f"unreadable 200 body: {snippet}")
        return SendResult(error=parse_graph_error(status, body).as_send_error())
