"""Fault injection for the Graph endpoints: the next N calls (or a share of calls) fail with a
chosen Graph error, a bare HTTP status, a slow answer or a dropped connection; or the whole
API is "down" for some seconds. This is how tests prove the adapter's retry and circuit-breaker
paths against real HTTP instead of mocks."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from banditore.sandbox.errors import GraphError

INJECTED = "Injected by the Banditore sandbox."


class FaultRule(BaseModel):
    """One rule, as posted to `/_sandbox/faults`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["error", "http", "slow", "drop"]
    code: int | None = None  # kind=error: the Graph error code
    status: int | None = Field(default=None, ge=100, le=599)  # kind=http, or error's HTTP status
    delay_ms: float = Field(default=0, ge=0)  # kind=slow
    count: int | None = Field(default=None, ge=1)  # the next N matching calls...
    probability: float | None = Field(default=None, gt=0, le=1)  # ...or this share of calls
    path_contains: str = ""  # e.g. "/messages"; empty = every Graph endpoint

    @model_validator(mode="after")
    def _complete(self) -> FaultRule:
        if self.kind == "error" and self.code is None:
            raise ValueError("kind=error needs a code")
        if self.kind == "http" and self.status is None:
            raise ValueError("kind=http needs a status")
        if self.count is None and self.probability is None:
            self.count = 1
        return self


class DownWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    down_seconds: float = Field(gt=0)
    code: int = 2  # "API Service: temporary downtime", HTTP 503


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.down_until = 0.0
        self.down_code = 2
        self.rng = random.Random()

    @property
    def armed(self) -> bool:
        return bool(self.rules) or self.down_until > 0

    def add(self, data: dict[str, Any]) -> dict[str, Any]:
        if "down_seconds" in data:
            down = DownWindow.model_validate(data)
            self.down_until = time.monotonic() + down.down_seconds
            self.down_code = down.code
        else:
            self.rules.append(FaultRule.model_validate(data))
        return self.describe()

    def clear(self) -> None:
        self.rules.clear()
        self.down_until = 0.0

    def describe(self) -> dict[str, Any]:
        remaining = max(0.0, self.down_until - time.monotonic())
        return {
            "rules": [r.model_dump(exclude_none=True) for r in self.rules],
            "down_for_seconds": round(remaining, 3),
        }

    def _pick(self, path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.path_contains and rule.path_contains not in path:
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
                return rule
            if rule.probability is not None and self.rng.random() < rule.probability:
                return rule
        return None

    async def apply(self, request: web.Request) -> web.StreamResponse | None:
        """Return a response to send instead, raise a GraphError, or None to carry on."""
        if self.down_until:
            if time.monotonic() < self.down_until:
                raise GraphError(self.down_code, INJECTED)
            self.down_until = 0.0
        rule = self._pick(request.path)
        if rule is None:
            return None
        if rule.kind == "error":
            assert rule.code is not None
            raise GraphError(rule.code, INJECTED, http_status=rule.status)
        if rule.kind == "http":
            # A bare status without Graph's JSON, like a proxy or load balancer would answer.
            return web.Response(status=rule.status or 502, text="")
        if rule.kind == "slow":
            await asyncio.sleep(rule.delay_ms / 1000)
            return None
        # kind == "drop": close the socket without answering; the client sees a reset.
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
