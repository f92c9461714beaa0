"""EmailTransport through an ESP's API: anymail's real Postmark backend over HTTP to a local
stand-in for Postmark's POST /email (the sandbox emulates Postmark's webhooks, not its send
API), and the verdict for each answer Postmark documents."""

from __future__ import annotations

from banditore.channels.base import Action
from banditore.channels.email import errors

from .harness import CITIZEN, closed_port, fake_postmark, outgoing, run, transport

INACTIVE = {
    "ErrorCode": 406,
    "Message": (
        "You tried to send to a recipient that has been marked as inactive.\n"
        f"Found inactive addresses: {CITIZEN}.\n"
        "Inactive recipients are ones that have generated a hard bounce or a spam complaint. "
    ),
}


def postmark(api_url: str, **changes):
    return transport(
        1,
        backend="postmark",
        api_key="pm-server-token",
        esp_settings={"api_url": api_url},
        **changes,
    )


@run
async def test_it_posts_both_parts_our_headers_and_our_id_as_metadata() -> None:
    async with fake_postmark() as pm:
        t = postmark(pm.url, reply_to="urp@comune.example.it")
        d = outgoing(text="Acqua sospesa domani\n\nDalle 8 alle 12.")
        result = await t.send(d, t.render(d))
        assert result.error is None
        [sent] = pm.requests
        assert sent["token"] == "pm-server-token"
        assert sent["From"] == "Comune di Esempio <notizie@comune.example.it>"
        assert sent["To"] == CITIZEN
        assert sent["ReplyTo"] == "urp@comune.example.it"
        assert sent["Subject"] == "Acqua sospesa domani"
        assert sent["TextBody"].startswith("Acqua sospesa domani\n\nDalle 8 alle 12.\n\n-- \n")
        assert "<p>Dalle 8 alle 12.</p>" in sent["HtmlBody"]
        headers = {h["Name"]: h["Value"] for h in sent["Headers"]}
        assert headers["Message-ID"] == f"<{result.provider_id}>"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["List-Unsubscribe"].startswith("<https://notizie.comune.example.it/")
        # Our id rides as metadata, which Postmark's webhooks echo (tracking.py reads it).
        assert sent["Metadata"] == {"banditore-id": result.provider_id}
        assert result.note == "ESP id pm-1"
        # One HTTP session for the next message too.
        assert (await t.send(d, t.render(d))).error is None
        assert t.mailer.opened == 1
        await t.aclose()


@run
async def test_an_inactive_recipient_is_permanent() -> None:
    async with fake_postmark() as pm:
        pm.answers = [(422, INACTIVE)]
        t = postmark(pm.url)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.code == errors.RECIPIENTS_REFUSED
        assert result.error.verdict.action == Action.RECIPIENT_PERMANENT
        await t.aclose()


@run
async def test_a_bad_token_or_an_unconfirmed_sender_stops_the_channel() -> None:
    async with fake_postmark() as pm:
        pm.answers = [
            (401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."}),
            (422, {"ErrorCode": 400, "Message": "The 'From' address is not a Sender Signature."}),
        ]
        t = postmark(pm.url)
        first = await t.send(outgoing(), t.render(outgoing()))
        assert (first.error.code, first.error.verdict.action) == (5401, Action.STOP_CHANNEL)
        second = await t.send(outgoing(), t.render(outgoing()))
        assert (second.error.code, second.error.verdict.action) == (5422, Action.STOP_CHANNEL)
        assert "Sender Signature" in second.error.title
        await t.aclose()


@run
async def test_an_outage_is_provider_trouble_and_a_rate_limit_slows_the_channel() -> None:
    async with fake_postmark() as pm:
        pm.answers = [(503, {"ErrorCode": 0, "Message": "down"}), (429, {"Message": "slow"})]
        t = postmark(pm.url)
        down = await t.send(outgoing(), t.render(outgoing()))
        assert down.error.code == 5503 and down.error.verdict.provider_trouble
        slow = await t.send(outgoing(), t.render(outgoing()))
        assert slow.error.code == 5429 and slow.error.verdict.throttle_channel
        assert slow.error.verdict.action == Action.RETRY
        ok = await t.send(outgoing(), t.render(outgoing()))
        assert ok.error is None
        await t.aclose()


@run
async def test_an_unreachable_esp_is_provider_trouble() -> None:
    t = postmark(f"http://127.0.0.1:{closed_port()}/")
    result = await t.send(outgoing(), t.render(outgoing()))
    assert result.error.code == errors.NETWORK_ERROR
    assert result.error.verdict.provider_trouble
    assert "ConnectionError" in result.error.title
    await t.aclose()
