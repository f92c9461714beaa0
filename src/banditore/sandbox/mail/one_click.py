"""RFC 8058 one-click unsubscribe, done the way a mail client does it."""

from __future__ import annotations

import re

import aiohttp

from banditore.sandbox.mail.store import StoredMessage

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


class OneClickError(Exception):
    """The message offers no one-click unsubscribe (the client would show no button)."""


def one_click_url(message: StoredMessage) -> str:
    """The first HTTPS (or, locally, HTTP) URI of List-Unsubscribe, if List-Unsubscribe-Post
    says `List-Unsubscribe=One-Click` (RFC 8058 §3.1: both headers, or no one-click)."""
    header = message.header("List-Unsubscribe")
    post = message.header("List-Unsubscribe-Post")
    if header is None:
        raise OneClickError("il messaggio non ha l'intestazione List-Unsubscribe")
    if post is None or post.strip() != ONE_CLICK_BODY:
        raise OneClickError("il messaggio non ha List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    for uri in re.findall(r"<([^>]*)>", header):
        if uri.lower().startswith(("https://", "http://")):
            return uri.strip()
    raise OneClickError("List-Unsubscribe non contiene un URI http(s)")


async def click(session: aiohttp.ClientSession, url: str) -> int:
    # RFC 8058 §3.2: a POST with that one body, no cookies or credentials, and the sender
    # must not redirect, so a redirect is reported rather than followed.
    async with session.post(
        url,
        data=ONE_CLICK_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    ) as response:
        await response.read()
        return response.status
