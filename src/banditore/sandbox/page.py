"""The sandbox's "phone" page at `/_sandbox/`: plain server-rendered HTML (Italian first) plus
a little JavaScript that polls the control API. No build step, no external assets.

The list of conversations is rendered here, a page at a time (a load test leaves thousands),
with a search by digits; the page's script refreshes only the part it shows
(`?frammento=contatti`), never the whole list."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from urllib.parse import urlencode

from aiohttp import web

from banditore.sandbox.instance import SANDBOX_KEY, Sandbox
from banditore.sandbox.state import NumberState, SandboxState

CONTACTS_PER_PAGE = 50


@cache
def _template() -> str:
    return files("banditore.sandbox").joinpath("page.html").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ContactsPage:
    numbers: list[str]  # "+39…", most recent conversation first
    total: int
    page: int
    pages: int


def contacts_page(
    state: SandboxState, phone_number_id: str, page: int = 1, search: str = ""
) -> ContactsPage:
    """One page of the citizens that wrote to, or were written by, one business number."""
    seen: dict[str, float] = {}
    for by_citizen in (state.outbound, state.inbound):
        for wa_id, items in by_citizen.items():
            for m in items:
                if m.phone_number_id == phone_number_id and m.timestamp > seen.get(wa_id, -1):
                    seen[wa_id] = m.timestamp
    digits = "".join(c for c in search if c.isdigit())
    if digits:
        seen = {wa_id: t for wa_id, t in seen.items() if digits in wa_id}
    ordered = sorted(seen, key=lambda wa_id: seen[wa_id], reverse=True)
    pages = max(1, math.ceil(len(ordered) / CONTACTS_PER_PAGE))
    page = min(max(1, page), pages)
    start = (page - 1) * CONTACTS_PER_PAGE
    chosen = ordered[start : start + CONTACTS_PER_PAGE]
    return ContactsPage(["+" + w for w in chosen], len(ordered), page, pages)


def _query(number: str, search: str, page: int, with_: str = "") -> str:
    params = {"numero": number, "pagina": page}
    if search:
        params["cerca"] = search
    if with_:
        params["con"] = with_
    return "?" + urlencode(params)


def _contact(citizen: str, href: str, active: bool) -> str:
    mark = ' class="contact active" aria-current="true"' if active else ' class="contact"'
    return (
        f'<li><a{mark} data-number="{escape(citizen)}" href="{escape(href)}">'
        f"{escape(citizen)}</a></li>"
    )


def render_contacts(listing: ContactsPage, number: str, search: str, current: str = "") -> str:
    if listing.numbers:
        items = "".join(
            _contact(n, _query(number, search, listing.page, n), n == current)
            for n in listing.numbers
        )
    else:
        items = "<li>Nessuna conversazione.</li>"
    count = f"{listing.total} conversazion{'e' if listing.total == 1 else 'i'}"
    if search:
        count += f" con «{escape(search)}»"
    nav = ""
    if listing.pages > 1:
        prev = (
            f'<a rel="prev" href="{escape(_query(number, search, listing.page - 1))}">'
            "‹ Precedenti</a>"
            if listing.page > 1
            else ""
        )
        nxt = (
            f'<a rel="next" href="{escape(_query(number, search, listing.page + 1))}">'
            "Successive ›</a>"
            if listing.page < listing.pages
            else ""
        )
        nav = (
            f'<nav class="pager" aria-label="Pagine delle conversazioni">{prev}'
            f'<span class="pager-at">Pagina {listing.page} di {listing.pages}</span>{nxt}</nav>'
        )
    return f'<p class="count" id="contacts-count">{count}</p><ul id="contacts">{items}</ul>{nav}'


def _chosen_number(state: SandboxState, requested: str) -> NumberState | None:
    return state.numbers.get(requested) or next(iter(state.numbers.values()), None)


def render(
    sandbox: Sandbox, base_url: str, *, page: int = 1, search: str = "", number: str = "",
    current: str = "",
) -> str:  # fmt: skip
    state = sandbox.state
    chosen = _chosen_number(state, number)
    pid = chosen.config.phone_number_id if chosen else ""
    options = "".join(
        f'<option value="{escape(n.config.phone_number_id)}"'
        f"{' selected' if n.config.phone_number_id == pid else ''}>"
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
    contacts = render_contacts(contacts_page(state, pid, page, search), pid, search, current)
    return (
        _template()
        .replace("{{NUMBER_OPTIONS}}", options)
        .replace("{{CONFIG}}", config)
        .replace("{{SEARCH}}", escape(search))
        .replace("{{CURRENT}}", escape(current))
        .replace("{{CONTACTS}}", contacts)
    )


def _page_number(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        return 1


async def index(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    query = request.query
    page = _page_number(query.get("pagina", "1"))
    search = query.get("cerca", "")[:32]
    number = query.get("numero", "")
    # Digits only: it is written into the page's script as well as its HTML.
    digits = "".join(c for c in query.get("con", "") if c.isdigit())[:20]
    current = "+" + digits if digits else ""
    if query.get("frammento") == "contatti":
        chosen = _chosen_number(sandbox.state, number)
        pid = chosen.config.phone_number_id if chosen else ""
        listing = contacts_page(sandbox.state, pid, page, search)
        html = render_contacts(listing, pid, search, current)
    else:
        base_url = f"{request.scheme}://{request.host}"
        html = render(sandbox, base_url, page=page, search=search, number=number, current=current)
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def redirect_to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/_sandbox/")
