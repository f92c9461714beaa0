"""The running sandbox: one object holding the state, the webhook sender, the status
timeline and the fault injector, and the key under which the aiohttp app keeps it.

A leaf: it imports no handler, so every handler can import it and app.py only wires
handlers to routes.
"""

from __future__ import annotations

from aiohttp import web

from banditore.sandbox.config import SandboxConfig
from banditore.sandbox.faults import Faults
from banditore.sandbox.state import SandboxState
from banditore.sandbox.timeline import Timeline
from banditore.sandbox.webhooks import WebhookSender


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.state = SandboxState(config)
        self.sender = WebhookSender(self.state)
        self.timeline = Timeline(self.state, self.sender)
        self.faults = Faults()

    def apply_config(self, config: SandboxConfig) -> None:
        self.state.apply_config(config)

    def reset(self) -> None:
        self.timeline.delays.cancel_all()
        self.sender.clear()
        self.state.reset()
        self.faults.clear()


SANDBOX_KEY = web.AppKey("sandbox", Sandbox)
