"""Django's own SMTP backend (what Banditore's e-mail channel will use) against the sink,
logging in as it does whenever EMAIL_HOST_USER is set. The sink itself imports no Django."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from tests.sandbox.harness import run
from tests.sandbox.mail.harness import mail_sandbox

A = "anna@example.it"


def _send_with_django(port: int, **backend: object) -> int:
    from django.core.mail import EmailMultiAlternatives
    from django.core.mail.backends.smtp import EmailBackend

    connection = EmailBackend(host="127.0.0.1", port=port, timeout=10, **backend)
    message = EmailMultiAlternatives(
        subject="Acqua sospesa",
        body="Domani dalle 8 alle 12.",
        from_email="Comune di Esempio <notizie@comune.example.it>",
        to=[A, "bruno@example.it"],
        headers={
            "List-Unsubscribe": "<https://comune.example.it/u/t>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        connection=connection,
    )
    message.attach_alternative("<p>Domani dalle <b>8</b> alle 12.</p>", "text/html")
    message.attach("avviso.pdf", b"%PDF-1.4 avviso", "application/pdf")
    return message.send()


@run
async def test_djangos_smtp_backend_logs_in_and_delivers_to_every_recipient():
    async with mail_sandbox(username="banditore", password="segreto") as mail:
        sent = await asyncio.to_thread(
            _send_with_django, mail.smtp_port, username="banditore", password="segreto"
        )
        assert sent == 1
        for address in (A, "bruno@example.it"):
            [got] = await mail.get("/messages", to=address)
            assert got["subject"] == "Acqua sospesa"
            assert got["text"] == "Domani dalle 8 alle 12."
            assert got["html"] == "<p>Domani dalle <b>8</b> alle 12.</p>"
            assert got["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
            assert got["message_id"].startswith("<") and got["date"]
            assert got["attachments"] == [
                {"filename": "avviso.pdf", "content_type": "application/pdf", "size": 15}
            ]


def test_the_mail_package_imports_no_django():
    probe = (
        "import sys, banditore.sandbox.mail; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'anymail')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
