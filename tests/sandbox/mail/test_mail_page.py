"""GET /_sandbox/mail/: an Italian page of every mailbox, where nothing a sender wrote runs."""

from __future__ import annotations

from tests.sandbox.harness import run
from tests.sandbox.mail.harness import mail_sandbox, news_message

A = "anna@example.it"


async def _page(mail) -> tuple[str, dict[str, str]]:
    async with mail.http.get(mail.base + "/") as r:
        assert r.status == 200
        assert r.content_type == "text/html"
        return await r.text(), dict(r.headers)


@run
async def test_the_page_lists_mailboxes_with_subject_and_text():
    async with mail_sandbox() as mail:
        html, _ = await _page(mail)
        assert "Nessun messaggio ricevuto" in html
        await mail.send(news_message([A, "bruno@example.it"]))
        html, _ = await _page(mail)
        assert '<html lang="it">' in html
        assert html.count("Strada chiusa") == 2  # one per mailbox
        assert A in html and "bruno@example.it" in html
        assert "Via Roma chiusa giovedì." in html


@run
async def test_a_script_in_subject_text_or_html_cannot_run():
    async with mail_sandbox() as mail:
        msg = news_message([A], subject="<script>alert(1)</script>")
        msg.get_body(("plain",)).set_content("<script>alert(2)</script>")
        msg.get_body(("html",)).set_content(
            '<script>alert(3)</script><img src=x onerror="alert(4)">"', subtype="html"
        )
        await mail.send(msg)
        html, headers = await _page(mail)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
        # The HTML part sits, escaped, in the srcdoc of an iframe with an empty sandbox.
        assert '<iframe sandbox="" title="Parte HTML" srcdoc="&lt;script&gt;alert(3)' in html
        assert 'onerror="alert' not in html
        assert "script-src" not in headers["Content-Security-Policy"]  # falls to 'none'
        assert "default-src 'none'" in headers["Content-Security-Policy"]
