"""EmailTransport over real SMTP to the sandbox's sink: what reaches the mailbox, the
provider id, the verdict for each way a server refuses (or isn't there), and the kept-open
connection."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request

import pytest

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import Action
from banditore.channels.email import errors
from banditore.channels.email.unsubscribe import read_token
from tests.factories import channel_of, make_comune
from tests.processes import ROOT, free_port, stop, wait_for

from .harness import CITIZEN, closed_port, mail_sandbox, outgoing, run, transport


def test_a_broadcast_reaches_the_mailbox_with_both_parts_and_the_unsubscribe_headers(
    transactional_db,
) -> None:
    # Committed, so prepare's database thread sees it, as the dispatcher's does.
    comune = make_comune()
    broadcast = Broadcast.objects.create(
        organization=comune,
        channel=channel_of(comune),
        title="Strada chiusa",
        text="Via Roma <chiusa> giovedì.\n\nDettagli: https://comune.example.it/avvisi/1",
    )

    async def scenario() -> None:
        async with mail_sandbox() as mail:
            t = transport(mail.smtp_port)
            await asyncio.to_thread(t.prepare, [broadcast.pk])
            d = outgoing(text="", kind=Delivery.Kind.BROADCAST, broadcast_id=broadcast.pk, id=42)
            result = await t.send(d, t.render(d))
            assert result.error is None
            [got] = await mail.get("/messages", to=CITIZEN)
            assert got["envelope_to"] == [CITIZEN]
            assert got["from"] == "Comune di Esempio <notizie@comune.example.it>"
            assert got["subject"] == "Strada chiusa"
            assert got["text"].startswith(
                "Via Roma <chiusa> giovedì.\n\nDettagli: https://comune.example.it/avvisi/1\n"
            )
            assert "&lt;chiusa&gt;" in got["html"] and "<chiusa>" not in got["html"]
            assert (
                '<a href="https://comune.example.it/avvisi/1">'
                "https://comune.example.it/avvisi/1</a>" in got["html"]
            )
            # The Message-ID is the provider id (SMTP gives none back), unique, ours.
            assert got["message_id"] == f"<{result.provider_id}>"
            assert result.provider_id.endswith(".42@comune.example.it")
            assert got["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
            one_click, mailto = [u.strip(" <>") for u in got["list_unsubscribe"].split(",")]
            assert one_click.startswith("https://notizie.comune.example.it/email/cancellami/")
            assert mailto == "mailto:notizie@comune.example.it?subject=CANCELLAMI"
            leaver = read_token(one_click.rsplit("/", 1)[1])
            assert (leaver.organization_id, leaver.address) == (7, CITIZEN)
            # The footer links the same URL, in both parts.
            assert one_click in got["text"] and one_click in got["html"]
            headers = dict(got["headers"])
            assert headers["Auto-Submitted"] == "auto-generated"
            assert headers["X-PM-Metadata-banditore-id"] == result.provider_id
            await t.aclose()

    asyncio.run(scenario())


@run
async def test_a_reply_goes_as_its_text_with_the_footer() -> None:
    async with mail_sandbox() as mail:
        t = transport(mail.smtp_port, reply_to="urp@comune.example.it")
        d = outgoing(text="Benvenuta!\nScrivi a urp@comune.example.it per domande.")
        result = await t.send(d, t.render(d))
        assert result.error is None
        [got] = await mail.get("/messages", to=CITIZEN)
        assert got["subject"] == "Benvenuta!"
        assert got["text"].startswith("Benvenuta!\nScrivi a urp@comune.example.it")
        assert dict(got["headers"])["Reply-To"] == "urp@comune.example.it"
        assert "<br>" in got["html"]
        await t.aclose()


@run
async def test_a_refused_recipient_550_is_permanent_and_the_connection_carries_on() -> None:
    async with mail_sandbox(bad_addresses=["nessuno@example.it"]) as mail:
        t = transport(mail.smtp_port)
        bad = outgoing("nessuno@example.it")
        result = await t.send(bad, t.render(bad))
        assert result.provider_id is None
        assert result.error.verdict.action == Action.RECIPIENT_PERMANENT
        assert result.error.code == 550
        assert "does not exist" in result.error.title
        # smtplib reset the transaction: the same connection takes the next message.
        good = outgoing(CITIZEN)
        assert (await t.send(good, t.render(good))).error is None
        assert t.mailer.opened == 1
        assert len(await mail.get("/messages", to=CITIZEN)) == 1
        await t.aclose()


@run
async def test_a_full_mailbox_452_is_retried_later_and_is_not_provider_trouble() -> None:
    async with mail_sandbox(full_mailboxes=[CITIZEN]) as mail:
        t = transport(mail.smtp_port)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.code == 452
        assert result.error.verdict.action == Action.RETRY
        assert not result.error.verdict.provider_trouble
        assert await mail.get("/messages", to=CITIZEN) == []
        await t.aclose()


@run
async def test_a_sink_that_is_down_is_provider_trouble_not_an_exception() -> None:
    t = transport(closed_port())
    result = await t.send(outgoing(), t.render(outgoing()))
    assert result.error.code == errors.NETWORK_ERROR
    assert result.error.verdict.action == Action.RETRY
    assert result.error.verdict.provider_trouble
    assert "ConnectionRefusedError" in result.error.title
    t.close()


@run
async def test_a_wrong_password_stops_the_channel() -> None:
    async with mail_sandbox(username="banditore", password="segreto") as mail:
        t = transport(mail.smtp_port, smtp_username="banditore", smtp_password="sbagliata")
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.verdict.action == Action.STOP_CHANNEL
        assert result.error.code == errors.AUTH + 535
        assert await mail.get("/messages", to=CITIZEN) == []
        # The right one logs in (and the failed connection was not kept half-open).
        ok = transport(mail.smtp_port, smtp_username="banditore", smtp_password="segreto")
        assert (await ok.send(outgoing(), ok.render(outgoing()))).error is None
        await t.aclose()
        await ok.aclose()


@run
async def test_no_credentials_where_the_server_requires_them_stops_the_channel() -> None:
    async with mail_sandbox(username="banditore", password="segreto") as mail:
        t = transport(mail.smtp_port)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.verdict.action == Action.STOP_CHANNEL
        assert result.error.code == errors.MAIL + 530
        await t.aclose()


@run
async def test_one_connection_carries_many_messages() -> None:
    async with mail_sandbox() as mail:
        t = transport(mail.smtp_port, max_connections=1)
        for i in range(5):
            d = outgoing(f"c{i}@example.it", id=i)
            assert (await t.send(d, t.render(d))).error is None
        assert t.mailer.opened == 1
        stats = await mail.get("/stats")
        assert stats["messages"] == 5
        await t.aclose()


@run
async def test_concurrent_sends_share_at_most_max_connections() -> None:
    async with mail_sandbox() as mail:
        t = transport(mail.smtp_port, max_connections=3)
        ds = [outgoing(f"c{i}@example.it", id=i) for i in range(30)]
        results = await asyncio.gather(*(t.send(d, t.render(d)) for d in ds))
        assert all(r.error is None for r in results)
        assert len({r.provider_id for r in results}) == 30
        assert 1 <= t.mailer.opened <= 3
        assert (await mail.get("/stats"))["messages"] == 30
        await t.aclose()


def _sandbox_process(port: int, smtp_port: int) -> subprocess.Popen:
    argv = [sys.executable, "-m", "banditore", "sandbox", "--port", str(port)]
    proc = subprocess.Popen(
        [*argv, "--smtp-port", str(smtp_port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    lines = [proc.stdout.readline() for _ in range(3)]
    assert f"127.0.0.1:{smtp_port}" in lines[2], lines
    return proc


def _mailbox(port: int) -> list:
    url = f"http://127.0.0.1:{port}/_sandbox/mail/messages?to={CITIZEN}"
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def test_a_connection_the_server_dropped_is_reopened_and_the_message_goes() -> None:
    port, smtp_port = free_port(), free_port()
    t = transport(smtp_port)

    def send():
        return asyncio.run(t.send(outgoing(), t.render(outgoing())))

    proc = _sandbox_process(port, smtp_port)
    try:
        assert send().error is None
        assert len(_mailbox(port)) == 1
    finally:
        stop(proc)
    # The sink restarted: the kept connection is dead, though nothing told the client.
    proc = _sandbox_process(port, smtp_port)
    try:
        result = send()
        assert result.error is None
        assert t.mailer.opened == 2
        assert len(wait_for(lambda: _mailbox(port), 10, "the message in the new sink")) == 1
    finally:
        stop(proc)
        t.close()


@run
async def test_an_address_no_message_can_carry_is_this_row_only() -> None:
    async with mail_sandbox() as mail:
        t = transport(mail.smtp_port)
        d = outgoing("")  # an erased citizen's blanked address
        result = await t.send(d, t.render(d))
        assert result.error.code == errors.INVALID_ADDRESS
        assert result.error.verdict.action == Action.RECIPIENT_PERMANENT
        assert (await mail.get("/stats"))["messages"] == 0
        await t.aclose()


def test_a_broadcast_that_is_gone_refuses_to_render(db) -> None:
    t = transport(closed_port())
    t.prepare([987654])
    with pytest.raises(ValueError, match="987654"):
        t.render(outgoing(kind=Delivery.Kind.BROADCAST, broadcast_id=987654))
    t.close()
