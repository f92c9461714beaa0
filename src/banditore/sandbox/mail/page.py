"""GET /_sandbox/mail/: every mailbox and what it received, for a person to look at.

Everything a sender wrote is escaped; an HTML part is shown in an iframe whose `sandbox`
attribute is empty (no scripts, no forms, no navigation) and the page's own CSP forbids
scripts besides, so a hostile message can run nothing here.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from banditore.sandbox.mail.instance import MAIL_KEY
from banditore.sandbox.mail.store import StoredMessage

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1a1a1a; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .25rem; }
article { border: 1px solid #ddd; border-radius: 6px; padding: .75rem; margin: .75rem 0; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .5rem; }
iframe { width: 100%; height: 18rem; border: 1px solid #ccc; }
.meta { color: #555; font-size: .9rem; }
"""


def _message(m: StoredMessage) -> str:
    parts = [
        f"<article><h3>{escape(m.subject or '(senza oggetto)')}</h3>",
        f'<p class="meta">Da: {escape(m.from_ or m.envelope_from)} · '
        f"Data: {escape(m.date or '')} · Message-ID: {escape(m.message_id or '')}</p>",
    ]
    unsubscribe = m.header("List-Unsubscribe")
    if unsubscribe:
        parts.append(f'<p class="meta">List-Unsubscribe: {escape(unsubscribe)}</p>')
    if m.text is not None:
        parts.append(f"<h4>Testo</h4><pre>{escape(m.text)}</pre>")
    if m.html is not None:
        parts.append(
            f'<h4>HTML</h4><iframe sandbox="" title="Parte HTML" srcdoc="{escape(m.html)}">'
            "</iframe>"
        )
    if m.attachments:
        items = "".join(
            f"<li>{escape(a['filename'] or '(senza nome)')} ({a['size']} byte)</li>"
            for a in m.attachments
        )
        parts.append(f"<h4>Allegati</h4><ul>{items}</ul>")
    parts.append("</article>")
    return "".join(parts)


async def index(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    sections = []
    for address in sorted(mail.store.mailboxes):
        box = mail.store.mailboxes[address]
        body = "".join(_message(m) for m in reversed(box))
        sections.append(
            f'<section><h2>{escape(address)} <span class="meta">({len(box)} messaggi)'
            f"</span></h2>{body}</section>"
        )
    content = "".join(sections) or "<p>Nessun messaggio ricevuto finora.</p>"
    html = (
        '<!doctype html><html lang="it"><head><meta charset="utf-8">'
        "<title>Sandbox: posta ricevuta</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Posta ricevuta dalla sandbox</h1>"
        f'<p class="meta">Server SMTP su {escape(mail.config.host)}:{mail.smtp_port} · '
        f"{mail.store.stats['messages']} messaggi, più recenti in alto</p>"
        f"{content}</body></html>"
    )
    return web.Response(
        text=html, content_type="text/html", headers={"Content-Security-Policy": _CSP}
    )
