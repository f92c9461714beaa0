"""The SMTP sink: what smtplib sends is what GET messages shows, per envelope recipient."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import pytest

from tests.sandbox.harness import run
from tests.sandbox.mail.harness import SENDER, mail_sandbox, news_message

A = "anna@example.it"
B = "Bruno@Example.it"


@run
async def test_it_shows_both_parts_and_the_unsubscribe_headers():
    async with mail_sandbox() as mail:
        refused = await mail.send(news_message([A]))
        assert refused == {}
        [got] = await mail.get("/messages", to=A)
        assert got["subject"] == "Strada chiusa"
        assert got["text"] == "Via Roma chiusa giovedì.\n"
        assert got["html"] == "<p>Via Roma <b>chiusa</b> giovedì.</p>\n"
        assert got["message_id"] == "<b1.d42@comune.example.it>"
        assert got["from"] == f"Comune di Esempio <{SENDER}>"
        assert got["envelope_from"] == SENDER
        assert got["list_unsubscribe"].startswith("<https://comune.example.it/u/abc>")
        assert got["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
        assert ["List-Unsubscribe-Post", "List-Unsubscribe=One-Click"] in got["headers"]
        assert got["date"] is None  # the message had none; the sink adds nothing


@run
async def test_it_files_one_message_under_every_recipient_whatever_the_case():
    async with mail_sandbox() as mail:
        await mail.send(news_message([A, B]))
        for address in (A, B.lower(), B.upper()):
            [got] = await mail.get("/messages", to=address)
            assert got["envelope_to"] == [A, B]
        assert await mail.get("/messages", to="nobody@example.it") == []
        stats = await mail.get("/stats")
        assert (stats["messages"], stats["deliveries"], stats["mailboxes"]) == (1, 2, 2)
        assert stats["smtp_port"] == mail.smtp_port


@run
async def test_a_mailbox_lists_oldest_first_and_all_messages_newest_first():
    async with mail_sandbox() as mail:
        for n in range(3):
            await mail.send(news_message([A], subject=f"n{n}"))
        assert [m["subject"] for m in await mail.get("/messages", to=A)] == ["n0", "n1", "n2"]
        assert [m["subject"] for m in await mail.get("/messages")] == ["n2", "n1", "n0"]
        assert [m["subject"] for m in await mail.get("/messages", limit="2")] == ["n2", "n1"]


@run
async def test_it_lists_attachments_by_name_and_size():
    async with mail_sandbox() as mail:
        msg = news_message([A])
        msg.add_attachment(
            b"%PDF-1.4" + b"x" * 992,
            maintype="application",
            subtype="pdf",
            filename="ordinanza.pdf",
        )
        await mail.send(msg)
        [got] = await mail.get("/messages", to=A)
        assert got["attachments"] == [
            {"filename": "ordinanza.pdf", "content_type": "application/pdf", "size": 1000}
        ]
        assert got["text"] == "Via Roma chiusa giovedì.\n"


@run
async def test_a_bad_address_is_refused_with_550_and_a_full_one_with_452():
    async with mail_sandbox(
        bad_addresses=["ghost@example.it"], full_mailboxes=["full@example.it"]
    ) as mail:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await mail.send(news_message(["Ghost@example.it"]))
        [(code, text)] = refused.value.recipients.values()
        assert code == 550 and text.startswith(b"5.1.1")
        # With a good recipient beside them the message goes, and smtplib reports the rest.
        partly = await mail.send(news_message([A, "ghost@example.it", "full@example.it"]))
        assert {k: v[0] for k, v in partly.items()} == {
            "ghost@example.it": 550,
            "full@example.it": 452,
        }
        assert partly["full@example.it"][1].startswith(b"4.2.2")
        [got] = await mail.get("/messages", to=A)
        assert got["envelope_to"] == [A]
        assert await mail.get("/messages", to="ghost@example.it") == []
        assert (await mail.get("/stats"))["refused"] == 3


@run
async def test_a_message_over_the_size_limit_is_refused_with_552():
    async with mail_sandbox(max_message_bytes=20_000) as mail:
        big = news_message([A])
        big.add_attachment(
            b"\0" * 20_000, maintype="application", subtype="octet-stream", filename="big.bin"
        )
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await mail.send(big)
        assert refused.value.smtp_code == 552
        await mail.send(news_message([A]))  # one under the limit still goes
        assert len(await mail.get("/messages", to=A)) == 1


@run
async def test_with_credentials_configured_it_requires_auth_and_checks_them():
    async with mail_sandbox(username="banditore", password="segreto") as mail:
        with pytest.raises(smtplib.SMTPSenderRefused) as unauthenticated:
            await mail.send(news_message([A]))
        assert unauthenticated.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await mail.send(news_message([A]), user="banditore", password="sbagliata")
        await mail.send(news_message([A]), user="banditore", password="segreto")
        assert len(await mail.get("/messages", to=A)) == 1


@run
async def test_auth_login_works_too():
    async with mail_sandbox(username="banditore", password="segreto") as mail:

        def login_with(mechanism: str) -> None:
            with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10) as smtp:
                smtp.ehlo()
                smtp.user, smtp.password = "banditore", "segreto"
                code, _ = smtp.auth(mechanism, getattr(smtp, "auth_" + mechanism.lower()))
                assert code == 235
                smtp.send_message(news_message([A]))

        await asyncio.to_thread(login_with, "LOGIN")
        await asyncio.to_thread(login_with, "PLAIN")
        assert len(await mail.get("/messages", to=A)) == 2


@run
async def test_reset_forgets_everything():
    async with mail_sandbox() as mail:
        await mail.send(news_message([A]))
        assert await mail.post("/reset", {}) == (200, {"success": True})
        assert await mail.get("/messages") == []
        assert (await mail.get("/stats"))["messages"] == 0


@run
async def test_it_keeps_only_the_newest_messages_beyond_its_bound():
    async with mail_sandbox(max_stored_messages=2) as mail:
        await mail.send(news_message([A], subject="old"))
        for n in range(2):
            await mail.send(news_message([A, B], subject=f"new{n}"))
        assert [m["subject"] for m in await mail.get("/messages", to=A)] == ["new0", "new1"]
        assert len(await mail.get("/messages")) == 2


@run
async def test_a_plain_text_message_has_no_html():
    async with mail_sandbox() as mail:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = SENDER, A, "Solo testo"
        msg.set_content("Ciao")
        await mail.send(msg)
        [got] = await mail.get("/messages", to=A)
        assert (got["text"], got["html"], got["attachments"]) == ("Ciao\n", None, [])
