"""The sandbox's "phone" page at `/_sandbox/`: plain server-rendered HTML (Italian first) plus
a little JavaScript that polls the control API. No build step, no external assets."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib.resources import files

from aiohttp import web

from banditore.sandbox.instance import SANDBOX_KEY, Sandbox


@cache
def _template() -> str:
    return files("banditore.sandbox").joinpath("page.html").read_text(encoding="utf-8")


def render(sandbox: Sandbox, base_url: str) -> str:
    state = sandbox.state
    options = "".join(
        f'<option value="{escape(n.config.phone_number_id)}">'
        f"{escape(n.config.verified_name)} (+{escape(n.config.display_phone_number)})</option>"
        for n in state.numbers.values()
    )
    first = next(iter(state.numbers.values()), None)
    rows = [
        ("URL base Graph (graph_base_url)", base_url),
        ("Versione API", state.config.api_version),
        ("Token di accesso", state.config.access_token),
        ("App secret (firma dei webhook)", state.config.app_secret),
        ("Verify token", state.config.verify_token),
    ]
    if first is not None:
        rows += [
            ("phone_number_id", first.config.phone_number_id),
            ("WABA id", first.config.waba_id),
            ("Callback dei webhook", first.callback_url or "— nessuna —"),
        ]
    config = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
    return _template().replace("{{NUMBER_OPTIONS}}", options).replace("{{CONFIG}}", config)


async def index(request: web.Request) -> web.Response:
    html = render(request.app[SANDBOX_KEY], f"{request.scheme}://{request.host}")
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def redirect_to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/_sandbox/")
