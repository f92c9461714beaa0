"""One text as an e-mail: subject, the two parts, the footer and the headers."""

from __future__ import annotations

from html import escape

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banditore.channels.email import rendering

URL = "https://notizie.comune.example.it/email/cancellami/tok:sig"


def test_the_subject_is_the_title_else_the_first_line_shortened_to_one_line() -> None:
    assert rendering.subject_of("Testo", "Strada  chiusa\n") == "Strada chiusa"
    assert rendering.subject_of("\n\n  Acqua sospesa domani \nDalle 8") == "Acqua sospesa domani"
    long = rendering.subject_of("parola " * 40)
    assert len(long) == rendering.SUBJECT_MAX and long.endswith("…")


def test_html_is_escaped_in_paragraphs_with_line_breaks_and_links() -> None:
    html = rendering.paragraphs(
        'Avviso <script>alert("x")</script> & altro\nseconda riga\n\n'
        "Info: https://comune.example.it/a?b=1&c=2.\n\n\n"
    )
    assert html == (
        "<p>Avviso &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; altro<br>\n"
        "seconda riga</p>\n"
        '<p>Info: <a href="https://comune.example.it/a?b=1&amp;c=2">'
        "https://comune.example.it/a?b=1&amp;c=2</a>.</p>"
    )


def test_a_message_carries_the_footer_in_both_parts_and_the_rfc_8058_headers() -> None:
    body = rendering.body("Mercato <spostato>", "Mercato")
    m = rendering.message(
        body,
        delivery_id=9,
        from_email="notizie@comune.example.it",
        unsubscribe_url=URL,
        mailto="urp@comune.example.it",
    )
    footer = _("To stop receiving these messages: %(link)s") % {"link": URL}
    assert m.text == f"Mercato <spostato>\n\n-- \n{footer}\n"
    assert "<p>Mercato &lt;spostato&gt;</p>" in m.html
    label = pgettext("e-mail footer link", "unsubscribe")
    # Escaped like any text in the HTML part (the Italian has an apostrophe).
    assert f'<a href="{URL}">{escape(label)}</a>' in m.html
    assert "<title>Mercato</title>" in m.html
    assert m.headers["List-Unsubscribe"] == (
        f"<{URL}>, <mailto:urp@comune.example.it?subject=CANCELLAMI>"
    )
    assert m.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m.message_id.startswith("<") and m.message_id.endswith(".9@comune.example.it>")


def test_message_ids_are_unique_ascii_and_short_enough_to_keep() -> None:
    ids = {rendering.new_message_id(1, "notizie@comune.example.it") for _ in range(1000)}
    assert len(ids) == 1000
    idn = rendering.new_message_id(123456789, "notizie@città.example.it")
    assert idn.endswith(".123456789@xn--citt-3na.example.it>") and idn.isascii()
    assert len(rendering.new_message_id(2**40, "a@" + "b" * 240 + ".it")) <= 128


def test_the_footer_sentence_is_escaped_before_the_link_goes_in() -> None:
    html = rendering.footer_html('https://x.it/"><script>')
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html
