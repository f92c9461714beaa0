"""One text as an e-mail: subject, a plain-text part, an HTML part, the footer that says
how to leave, and the headers mail clients build their unsubscribe button from.

The text is the editor's plain text (the same that goes to WhatsApp and Telegram): in HTML it
is escaped, its blank-line-separated blocks become paragraphs, its line breaks <br>, and its
URLs links. What is the same for every recipient (`Body`) is made once per broadcast; only the
footer and the headers, which carry the recipient's own unsubscribe link, are per message.
"""

import secrets
import urllib.parse
from dataclasses import dataclass

from django.utils import translation
from django.utils.html import escape, urlize
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

# A subject longer than this is cut (with "…"): clients show about 60-80 characters, and a
# long one is folded across header lines that some filters score as spam.
SUBJECT_MAX = 90
# RFC 2369's mailto gets this subject: the house word for leaving, should the comune one day
# read those e-mails with the same keywords as WhatsApp.
MAILTO_SUBJECT = "CANCELLAMI"
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class Body:
    """What every recipient of one text gets alike."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    message_id: str  # with its angle brackets, as in the header


def one_line(value: str) -> str:
    """Runs of whitespace (line breaks included) as one space: a header is one line."""
    return " ".join(value.split())


def subject_of(text: str, title: str = "") -> str:
    """The title if there is one, else the text's first non-empty line, shortened."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    subject = one_line(title) or one_line(first)
    return Truncator(subject).chars(SUBJECT_MAX)


def paragraphs(text: str) -> str:
    """The text as HTML paragraphs: escaped, line breaks kept, URLs (and www. names and
    addresses) as links."""
    blocks = [b.strip("\n") for b in text.replace("\r\n", "\n").split("\n\n")]
    html = []
    for block in blocks:
        if not block.strip():
            continue
        lines = [urlize(line, nofollow=False, autoescape=True) for line in block.split("\n")]
        html.append("<p>" + "<br>\n".join(lines) + "</p>")
    return "\n".join(html)


def body(text: str, title: str = "") -> Body:
    return Body(subject=subject_of(text, title), text=text.strip("\n"), html=paragraphs(text))


def footer_text(unsubscribe_url: str) -> str:
    return _("To stop receiving these messages: %(link)s") % {"link": unsubscribe_url}


def footer_html(unsubscribe_url: str) -> str:
    label = pgettext("e-mail footer link", "unsubscribe")
    link = f'<a href="{escape(unsubscribe_url)}">{escape(label)}</a>'
    # The sentence is escaped before the link goes in: a translation's "<" stays text.
    return escape(_("To stop receiving these messages: %(link)s")) % {"link": link}


def document(subject: str, content: str, footer: str) -> str:
    lang = translation.get_language() or "it"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(subject)}</title>\n</head>\n"
        '<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em">\n'
        f"{content}\n"
        '<hr style="border: 0; border-top: 1px solid #ccc; margin-top: 2em">\n'
        f'<p style="font-size: small; color: #555">{footer}</p>\n'
        "</body>\n</html>\n"
    )


def list_unsubscribe(unsubscribe_url: str, mailto: str) -> dict[str, str]:
    """RFC 2369's List-Unsubscribe (the one-click https URL first, then a mailto) and RFC
    8058's List-Unsubscribe-Post, which tells the client a POST to the URL is enough."""
    query = urllib.parse.urlencode({"subject": MAILTO_SUBJECT}, quote_via=urllib.parse.quote)
    mailto_uri = f"mailto:{urllib.parse.quote(mailto, safe='@')}?{query}"
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto_uri}>",
        "List-Unsubscribe-Post": ONE_CLICK,
    }


def new_message_id(delivery_id: int, from_email: str) -> str:
    """A Message-ID unique everywhere (it is the provider id kept for the delivery, and an
    installation-wide unique index holds those): random, with the delivery's id for whoever
    reads a bounce, at the sender's own domain (ASCII: an IDN in its xn-- form)."""
    domain = from_email.rpartition("@")[2]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "banditore.invalid"
    return f"<{secrets.token_hex(12)}.{delivery_id}@{domain[:80]}>"


def message(
    content: Body,
    *,
    delivery_id: int,
    from_email: str,
    unsubscribe_url: str,
    mailto: str,
) -> Rendered:
    text = f"{content.text}\n\n-- \n{footer_text(unsubscribe_url)}\n"
    html = document(content.subject, content.html, footer_html(unsubscribe_url))
    headers = {
        **list_unsubscribe(unsubscribe_url, mailto),
        # A one-way service: out-of-office robots should not answer (RFC 3834, and
        # Exchange's own header).
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "OOF, AutoReply",
    }
    return Rendered(content.subject, text, html, headers, new_message_id(delivery_id, from_email))
