"""The sandbox's "phone": a small page where a person acts as a citizen (placeholder)."""

from __future__ import annotations

from aiohttp import web


async def index(request: web.Request) -> web.Response:
    return web.Response(
        text="<!doctype html><title>Sandbox WhatsApp</title>", content_type="text/html"
    )


async def redirect_to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/_sandbox/")
