"""What every Graph API endpoint of the sandbox has in common: the optional version segment,
per-request latency and injected faults, the access-token check, Meta's response headers and
the error envelope (reference §1.5, §3.1, §3.3)."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from banditore.sandbox.errors import (
    USAGE_HEADER_CODES,
    GraphError,
    http_status_for,
    invalid_token,
)
from banditore.sandbox.instance import SANDBOX_KEY, Sandbox
from banditore.sandbox.latency import draw_ms

Handler = Callable[[web.Request, "Sandbox"], Awaitable[web.StreamResponse]]


def graph_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Graph escapes "/" inside JSON strings; clients must not care, so the sandbox does it too.
    body = json.dumps(data, separators=(",", ":")).replace("/", "\\/")
    response = web.Response(
        text=body, status=status, content_type="application/json", charset="UTF-8", headers=headers
    )
    return response


# Tracing ids only need to look like Meta's opaque values; a PRNG avoids a getrandom syscall
# per request on the hot path (the CSPRNG stays for fbtrace_id on errors).
_rng = random.Random()


def _common_headers(request: web.Request) -> dict[str, str]:
    version = request.match_info.get("version") or "v23.0"
    return {
        "facebook-api-version": version,
        "x-fb-trace-id": f"{_rng.getrandbits(64):016x}",
        "x-fb-request-id": f"{_rng.getrandbits(96):024x}",
        "Access-Control-Allow-Origin": "*",
        "Cache-Control": "no-store",
    }


def error_response(request: web.Request, sandbox: Sandbox, error: GraphError) -> web.Response:
    status = error.http_status or http_status_for(
        error.code, sandbox.state.config.error_http_status
    )
    headers = _common_headers(request)
    if 400 <= status < 500:
        kind = "invalid_token" if error.code in (0, 190) else "invalid_request"
        # Header values must be single-line latin-1; Meta's messages are plain ASCII anyway.
        message = error.message.encode("ascii", "replace").decode("ascii")
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "{kind}" "{message}"'
    if error.code in USAGE_HEADER_CODES:
        waba = sandbox.state.config.numbers[0].waba_id if sandbox.state.config.numbers else "0"
        usage = {
            waba: [
                {
                    "type": "whatsapp",
                    "call_count": 100,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": 0,
                }
            ]
        }
        headers["x-business-use-case-usage"] = json.dumps(usage, separators=(",", ":"))
    sandbox.state.stats[f"errors_{error.code}"] += 1
    return graph_json(error.envelope(), status=status, headers=headers)


def check_token(request: web.Request, expected: str, others: dict[str, str] | None = None) -> None:
    header = request.headers.get("Authorization")
    token = None
    if header:
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    else:
        token = request.query.get("access_token")
    if token is None:
        raise invalid_token(missing=True)
    if secrets.compare_digest(token.encode(), expected.encode()):
        return
    kind = others.get(token) if others else None
    if kind == "valid":
        return
    if kind == "expired":
        raise GraphError(
            190,
            message="Error validating access token: Session has expired.",
            subcode=463,
            with_error_data=False,
        )
    if kind == "no_permission":
        raise GraphError(10, message="(#10) Application does not have permission for this action")
    raise invalid_token(missing=False)


_rng = random.Random()


def graph_endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a Graph handler: latency, faults, auth, then errors as Meta's envelope."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sandbox = request.app[SANDBOX_KEY]
        sandbox.state.stats["graph_requests"] += 1
        config = sandbox.state.config
        if config.latency_ms or config.latency_spread_ms:
            delay = draw_ms(
                config.latency_ms, config.latency_spread_ms, config.latency_distribution, _rng
            )
            await asyncio.sleep(delay / 1000)
        try:
            if sandbox.faults.armed:
                fault_response = await sandbox.faults.apply(request)
                if fault_response is not None:
                    return fault_response
            config = sandbox.state.config
            check_token(request, config.access_token, config.tokens)
            response = await handler(request, sandbox)
        except GraphError as error:
            return error_response(request, sandbox, error)
        response.headers.update(_common_headers(request))
        return response

    return wrapped
