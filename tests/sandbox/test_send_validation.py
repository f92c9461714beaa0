"""Invalid sends fail synchronously with Meta's codes and envelope (reference §2.8, §3.1)."""

from __future__ import annotations

from typing import Any

import pytest

from banditore.sandbox.config import SandboxConfig, TemplateConfig, default_template

from .harness import CITIZEN, run, running_sandbox, template_body, text_body


def _envelope_ok(reply: Any, code: int, http: int) -> dict[str, Any]:
    assert reply.status == http, reply.json
    error = reply.json["error"]
    assert error["code"] == code
    assert error["type"] in ("OAuthException", "GraphMethodException")
    assert error["message"].startswith(f"(#{code})") or error["type"] == "GraphMethodException"
    assert error["fbtrace_id"]
    if 400 <= http < 500:
        assert reply.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform"')
    return error


def _tpl(**kwargs: Any) -> dict[str, Any]:
    return template_body(**kwargs)


CASES = [
    ("missing messaging_product", {"to": CITIZEN, "text": {"body": "x"}}, 100, "messaging_product"),
    ("wrong messaging_product", text_body(messaging_product="sms"), 100, "messaging_product"),
    ("missing to", {"messaging_product": "whatsapp", "text": {"body": "x"}}, 100, "to"),
    ("to with 00 prefix", text_body(to="00393331234567"), 100, "international"),
    ("to with letters", text_body(to="+39 333 CIAO"), 100, "valid phone"),
    (
        "missing text object",
        {"messaging_product": "whatsapp", "to": CITIZEN, "type": "text"},
        131008,
        "text",
    ),
    (
        "missing text body",
        {"messaging_product": "whatsapp", "to": CITIZEN, "text": {}},
        100,
        "text['body']",
    ),
    ("text body too long", text_body(body="x" * 4097), 100, "4096"),
    (
        "unknown type",
        {"messaging_product": "whatsapp", "to": CITIZEN, "type": "fax", "fax": {}},
        131051,
        "fax",
    ),
    ("sending to itself", text_body(to="+390510000001"), 131021, "same"),
    ("template without name", _tpl(name=None), 100, "template['name']"),
    ("template without language", _tpl(language=None), 100, "template['language']"),
    ("unknown template", _tpl(name="non_esiste"), 132001, "non_esiste"),
    ("template in another language", _tpl(language={"code": "en_US"}), 132001, "en_US"),
    ("one body parameter instead of two", _tpl(params=["solo uno"]), 132000, "(1)"),
    ("no components at all", _tpl(components=None), 132000, "(0)"),
    ("parameter with a newline", _tpl(params=["a", "riga\nnuova"]), 100, "new-line"),
    ("parameter with a tab", _tpl(params=["a", "col\tonna"]), 100, "new-line"),
    (
        "parameter with five spaces",
        _tpl(params=["a", "troppi     spazi"]),
        100,
        "consecutive spaces",
    ),
    ("empty parameter", _tpl(params=["a", ""]), 100, "mandatory"),
]


@pytest.mark.parametrize(
    ("body", "code", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_it_rejects_invalid_sends_with_metas_code(
    body: dict[str, Any], code: int, hint: str
) -> None:
    if body.get("template", {}).get("name", "") is None:
        del body["template"]["name"]
    if "template" in body and body["template"].get("language", "") is None:
        del body["template"]["language"]
    if "template" in body and body["template"].get("components", "") is None:
        del body["template"]["components"]

    async def scenario() -> None:
        async with running_sandbox() as sb:
            reply = await sb.send(body)
            http = 404 if code == 132001 else 400
            error = _envelope_ok(reply, code, http)
            assert error["error_data"]["messaging_product"] == "whatsapp"
            assert hint in error["error_data"]["details"] or hint in error["message"]
            assert await sb.received() == []

    run(scenario)()


@run
async def test_it_rejects_an_unknown_phone_number_id_with_subcode_33() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(text_body(), phone_id="999999999999999")
        error = _envelope_ok(reply, 100, 400)
        assert error["type"] == "GraphMethodException"
        assert error["error_subcode"] == 33
        assert "999999999999999" in error["message"]


@run
async def test_it_rejects_paused_disabled_and_unapproved_templates() -> None:
    base = default_template()
    templates = [base] + [
        TemplateConfig(name=f"t_{status.lower()}", language="it", status=status, body="Ciao {{1}}")
        for status in ("PAUSED", "DISABLED", "PENDING", "REJECTED")
    ]
    async with running_sandbox(SandboxConfig(templates=templates)) as sb:
        for status, code, http in (
            ("PAUSED", 132015, 400),
            ("DISABLED", 132016, 400),
            ("PENDING", 132001, 404),
            ("REJECTED", 132001, 404),
        ):
            reply = await sb.send(_tpl(name=f"t_{status.lower()}", params=["x"]))
            _envelope_ok(reply, code, http)


@run
async def test_it_rejects_a_non_json_body() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request("POST", "/v23.0/106540352242922/messages", data=b"{nope")
        _envelope_ok(reply, 100, 400)
