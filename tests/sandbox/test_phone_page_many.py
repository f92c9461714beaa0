"""The phone page stays usable with thousands of conversations: the server renders one page
of the list at a time, with a search, and the script refreshes only that page."""

from __future__ import annotations

import time

from banditore.sandbox import page
from banditore.sandbox.state import InboundMessage

from .harness import PHONE_ID, run, running_sandbox

CONVERSATIONS = 3000


def fill(state, count: int = CONVERSATIONS) -> None:
    now = time.time()
    for n in range(count):
        sender = f"39333{n:07d}"
        state.record_inbound(
            InboundMessage(
                id=f"wamid.in{n}", phone_number_id=PHONE_ID, sender=sender, name="",
                type="text", text="ISCRIVIMI", timestamp=now - count + n,
            )
        )  # fmt: skip


def listed(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('data-number="')[1:]]


@run
async def test_it_shows_one_page_of_thousands_of_conversations_newest_first() -> None:
    async with running_sandbox() as sb:
        fill(sb.sandbox.state)
        reply = await sb.request("GET", "/_sandbox/", token=None)
        html = reply.json.decode() if isinstance(reply.json, bytes) else str(reply.json)

        numbers = listed(html)
        assert len(numbers) == page.CONTACTS_PER_PAGE
        assert numbers[0] == f"+39333{CONVERSATIONS - 1:07d}"
        assert f"{CONVERSATIONS} conversazioni" in html
        pages = -(-CONVERSATIONS // page.CONTACTS_PER_PAGE)
        assert f"Pagina 1 di {pages}" in html
        assert f'href="?numero={PHONE_ID}&amp;pagina=2"' in html
        assert 'rel="prev"' not in html


@run
async def test_the_last_page_the_search_and_the_fragment() -> None:
    async with running_sandbox() as sb:
        fill(sb.sandbox.state)
        pages = -(-CONVERSATIONS // page.CONTACTS_PER_PAGE)

        reply = await sb.request("GET", f"/_sandbox/?pagina={pages}", token=None)
        html = reply.json.decode() if isinstance(reply.json, bytes) else str(reply.json)
        assert listed(html)[-1] == "+393330000000"
        assert 'rel="next"' not in html and 'rel="prev"' in html

        reply = await sb.request(
            "GET",
            "/_sandbox/?frammento=contatti&cerca=333%200001%2023&con=%2B393330001235",
            token=None,
        )
        fragment = reply.json.decode() if isinstance(reply.json, bytes) else str(reply.json)
        assert "<html" not in fragment
        assert listed(fragment) == [f"+39333000123{d}" for d in range(9, -1, -1)]
        assert 'class="contact active" aria-current="true" data-number="+393330001235"' in fragment
        assert "10 conversazioni" in fragment

        # A page past the end shows the last; nonsense shows the first.
        reply = await sb.request("GET", "/_sandbox/?pagina=9999", token=None)
        assert f"Pagina {pages} di {pages}" in reply.json.decode()
        reply = await sb.request("GET", "/_sandbox/?pagina=x", token=None)
        assert "Pagina 1 di" in reply.json.decode()


@run
async def test_the_page_fits_a_phone_and_names_the_chosen_chat_safely() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request("GET", '/_sandbox/?con=%2B39333"</script>1', token=None)
        html = reply.json.decode()
        assert 'var current = "+393331" || null;' in html
        assert "@media (max-width: 44rem)" in html
        assert "Nessuna conversazione." in html
