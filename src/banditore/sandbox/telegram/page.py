"""The sandbox's Telegram page at `/_sandbox/telegram/`: citizens' Telegram app for a
newcomer (Italian first). Plain server-rendered HTML plus a little JavaScript that polls the
control API; no build step, no external assets.

The list of users is rendered here (a load test leaves thousands of them: only the newest
`USERS_SHOWN`, with a search by digits) and refreshed as a fragment (`?frammento=utenti`),
which also carries the chosen user's state and the bot's update queue. The inline script and
style never change per request, so the Content-Security-Policy allows exactly them by hash."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from urllib.parse import urlencode

from aiohttp import web

from banditore.sandbox.telegram.config import BotConfig
from banditore.sandbox.telegram.state import TELEGRAM_KEY, Citizen, TelegramSandbox

USERS_SHOWN = 50
_SLOT = re.compile(r"\{\{([A-Z_]+)\}\}")


@cache
def _template() -> str:
    return files("banditore.sandbox.telegram").joinpath("page.html").read_text(encoding="utf-8")


def _hash_of(tag: str, html: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
    if match is None:
        raise ValueError(f"page.html has no <{tag}>")
    digest = hashlib.sha256(match.group(1).encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@cache
def content_security_policy() -> str:
    """Nothing but this page's own script and style, and calls back to the sandbox."""
    html = _template()
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {_hash_of('script', html)}",
            f"style-src {_hash_of('style', html)}",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


@dataclass(frozen=True)
class UsersPage:
    users: list[Citizen]  # the newest first
    total: int


def users_page(sandbox: TelegramSandbox, bot: BotConfig, search: str = "") -> UsersPage:
    """The users that started (or blocked) one bot, newest first."""
    digits = "".join(c for c in search if c.isdigit())
    found = [
        c
        for c in reversed(sandbox.citizens.values())
        if bot.id in c.status and (not digits or digits in str(c.id))
    ]
    return UsersPage(found[:USERS_SHOWN], len(found))


def _status_of(sandbox: TelegramSandbox, bot: BotConfig, user_id: int | None) -> str:
    citizen = sandbox.citizens.get(user_id) if user_id else None
    if citizen is None:
        return "none"
    if citizen.deactivated:
        return "deactivated"
    return citizen.status.get(bot.id, "none")


_STATUS_TEXT = {
    "none": "Questo utente non ha ancora avviato il bot: scrivigli /start.",
    "member": "Hai avviato il bot: ti può scrivere.",
    "kicked": "Hai bloccato il bot: quello che ti manda viene rifiutato (403).",
    "deactivated": "Questo account è disattivato: il bot non può più scrivergli.",
}
_STATUS_LABEL = {"member": "", "kicked": " · bloccato", "deactivated": " · disattivato"}


def _user_item(citizen: Citizen, bot: BotConfig, search: str, current: int | None) -> str:
    status = "deactivated" if citizen.deactivated else citizen.status.get(bot.id, "none")
    params = {"bot": bot.username, "utente": citizen.id}
    if search:
        params["cerca"] = search
    active = citizen.id == current
    mark = ' class="user active" aria-current="true"' if active else ' class="user"'
    return (
        f'<li><a{mark} data-user="{citizen.id}" data-name="{escape(str(citizen.first_name))}"'
        f' href="?{escape(urlencode(params))}">{escape(str(citizen.first_name))}'
        f' <span class="user-id">{citizen.id}{_STATUS_LABEL.get(status, "")}</span></a></li>'
    )


def _updates_line(sandbox: TelegramSandbox, bot: BotConfig) -> str:
    queue = sandbox.queues.get(bot.id)
    pending = len(queue.pending) if queue else 0
    if queue is not None and queue.webhook is not None:
        where = f"il webhook {escape(queue.webhook.url)}"
        if queue.webhook.last_error_message:
            where += f" (ultimo errore: {escape(queue.webhook.last_error_message)})"
    else:
        where = "nessun webhook: il bot li legge con getUpdates"
    return (
        f'<p class="count" id="updates" data-pending="{pending}">Aggiornamenti in coda: '
        f"{pending} · destinazione: {where}.</p>"
    )


def render_users(
    sandbox: TelegramSandbox, bot: BotConfig, search: str = "", current: int | None = None
) -> str:
    listing = users_page(sandbox, bot, search)
    if listing.users:
        items = "".join(_user_item(c, bot, search, current) for c in listing.users)
    else:
        items = "<li>Nessun utente ha ancora scritto al bot.</li>"
    count = f"{listing.total} utent{'e' if listing.total == 1 else 'i'}"
    if search:
        count += f" con «{escape(search)}»"
    if listing.total > len(listing.users):
        count += f"; qui i {len(listing.users)} più recenti, cerca per id"
    status = _status_of(sandbox, bot, current)
    state = (
        f'<p class="state" id="current-state" data-status="{status}">{_STATUS_TEXT[status]}</p>'
        if current
        else '<p class="state" id="current-state" data-status="">Scegli o scrivi un id utente.</p>'
    )
    return (
        f'{state}{_updates_line(sandbox, bot)}<p class="count" id="users-count">{count}</p>'
        f'<ul id="users">{items}</ul>'
    )


def _bot_choice(sandbox: TelegramSandbox, bot: BotConfig) -> str:
    bots = sandbox.config.bots
    if len(bots) == 1:
        return (
            f'<p id="bot-name">{escape(bot.first_name)} (@{escape(bot.username)})</p>'
            f'<input type="hidden" id="bot" value="{escape(bot.username)}">'
        )
    options = "".join(
        f'<option value="{escape(b.username)}"{" selected" if b is bot else ""}>'
        f"{escape(b.first_name)} (@{escape(b.username)})</option>"
        for b in bots
    )
    return f'<label for="bot">Il bot</label><select id="bot">{options}</select>'


def _channel_choice(sandbox: TelegramSandbox) -> str:
    channels = sandbox.config.channels
    if not channels:
        return '<input type="hidden" id="channel" value="">'
    if len(channels) == 1:
        channel = channels[0]
        return (
            f'<p id="channel-name">{escape(channel.title)} ({escape(channel.username)})</p>'
            f'<input type="hidden" id="channel" value="{escape(channel.username)}">'
        )
    options = "".join(
        f'<option value="{escape(c.username)}">{escape(c.title)} ({escape(c.username)})</option>'
        for c in channels
    )
    return f'<label for="channel">Il canale</label><select id="channel">{options}</select>'


def _config_rows(sandbox: TelegramSandbox, bot: BotConfig, base_url: str) -> str:
    rows = [
        ("URL base della Bot API", base_url),
        ("Token del bot", bot.token),
        ("Bot", f"@{bot.username} (id {bot.id})"),
        ("Esempio", f"{base_url}/bot{bot.token}/getMe"),
    ]
    rows += [(f"Canale {c.username}", f"id {c.id}") for c in sandbox.config.channels]
    return "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)


def render(
    sandbox: TelegramSandbox,
    bot: BotConfig | None,
    base_url: str,
    *,
    search: str = "",
    current: int | None = None,
) -> str:
    if bot is None:
        parts = {"BOT_CHOICE": "", "USERS": "<p>La sandbox non ha bot.</p>", "CONFIG": ""}
    else:
        parts = {
            "BOT_CHOICE": _bot_choice(sandbox, bot),
            "USERS": render_users(sandbox, bot, search, current),
            "CONFIG": _config_rows(sandbox, bot, base_url),
        }
    parts["CHANNEL_CHOICE"] = _channel_choice(sandbox)
    parts["CURRENT"] = str(current) if current else ""
    parts["SEARCH"] = escape(search)
    # One pass: a first name that reads "{{CONFIG}}" stays a first name.
    return _SLOT.sub(lambda m: parts[m.group(1)], _template())


def _user_id(raw: str) -> int | None:
    # Digits only: a Telegram user id is a positive integer.
    digits = raw[:20]
    return int(digits) if digits.isdigit() and int(digits) > 0 else None


async def index(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    query = request.query
    bot = sandbox.bot(query.get("bot")) or sandbox.bot(None)
    search = query.get("cerca", "")[:32]
    current = _user_id(query.get("utente", ""))
    if query.get("frammento") == "utenti" and bot is not None:
        html = render_users(sandbox, bot, search, current)
    else:
        base_url = f"{request.scheme}://{request.host}"
        html = render(sandbox, bot, base_url, search=search, current=current)
    headers = {
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)


async def redirect_to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/_sandbox/telegram/")
