"""Interactive messages are validated against Meta's limits (reference §2.5)."""

from __future__ import annotations

from typing import Any

import pytest

from .harness import CITIZEN, run, running_sandbox


def _buttons(n: int, title: str = "Sì") -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": "Confermi l'iscrizione?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": f"b{i}", "title": f"{title}{i}"}}
                for i in range(n)
            ]
        },
    }


def _list(rows: int, sections: int = 1) -> dict[str, Any]:
    return {
        "type": "list",
        "body": {"text": "Scegli gli argomenti"},
        "action": {
            "button": "Argomenti",
            "sections": [
                {
                    "title": f"Sezione {s}",
                    "rows": [{"id": f"r{s}-{r}", "title": f"Tema {r}"} for r in range(rows)],
                }
                for s in range(sections)
            ],
        },
    }


def _cta(display: str = "Apri", url: str = "https://comune.example.it/avvisi") -> dict[str, Any]:
    return {
        "type": "cta_url",
        "body": {"text": "Leggi l'avviso completo"},
        "action": {"name": "cta_url", "parameters": {"display_text": display, "url": url}},
    }


VALID = [_buttons(1), _buttons(3), _list(10), _list(5, sections=2), _cta()]
INVALID = [
    ("four buttons", _buttons(4)),
    ("no buttons", _buttons(0)),
    ("button title over 20", _buttons(1, title="x" * 20)),
    ("eleven rows", _list(11)),
    ("rows over 10 in total", _list(6, sections=2)),
    ("cta text over 20", _cta(display="x" * 21)),
    ("cta url not http", _cta(url="javascript:alert(1)")),
    ("body missing", {"type": "button", "action": _buttons(1)["action"]}),
    ("body over 1024", {**_buttons(1), "body": {"text": "x" * 1025}}),
    ("footer over 60", {**_buttons(1), "footer": {"text": "x" * 61}}),
]


@run
async def test_it_accepts_buttons_lists_and_cta_urls_within_limits() -> None:
    async with running_sandbox() as sb:
        await sb.inbound()
        for interactive in VALID:
            body = {
                "messaging_product": "whatsapp",
                "to": CITIZEN,
                "type": "interactive",
                "interactive": interactive,
            }
            reply = await sb.send(body)
            assert reply.status == 200, (interactive["type"], reply.json)
        assert [m["text"] for m in await sb.received()][0] == "Confermi l'iscrizione?"


@pytest.mark.parametrize("interactive", [c[1] for c in INVALID], ids=[c[0] for c in INVALID])
def test_it_rejects_interactive_messages_over_the_limits(interactive: dict[str, Any]) -> None:
    async def scenario() -> None:
        async with running_sandbox() as sb:
            body = {
                "messaging_product": "whatsapp",
                "to": CITIZEN,
                "type": "interactive",
                "interactive": interactive,
            }
            reply = await sb.send(body)
            assert reply.status == 400
            assert reply.json["error"]["code"] == 100

    run(scenario)()
