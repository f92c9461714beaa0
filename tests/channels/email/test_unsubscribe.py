"""The one-click unsubscribe: the token, and a mail client's RFC 8058 POST (the sandbox's)
carrying one that read_token accepts."""

from __future__ import annotations

import urllib.parse

import pytest
from django.core import signing
from django.test import override_settings

from banditore.channels.email.unsubscribe import (
    PATH,
    SALT,
    BadToken,
    Leaver,
    make_token,
    one_click_url,
    read_token,
)

from .harness import CITIZEN, ORG_ID, mail_sandbox, outgoing, run, transport


def test_a_token_reads_back_as_who_leaves_which_comune_and_is_url_safe() -> None:
    token = make_token(12, "mario.rossi+news@example.it")
    assert read_token(token) == Leaver(12, "mario.rossi+news@example.it")
    assert urllib.parse.quote(token, safe=":") == token


def test_an_altered_or_forged_token_is_refused() -> None:
    token = make_token(12, CITIZEN)
    payload, _, signature = token.rpartition(":")
    other = make_token(13, CITIZEN).rpartition(":")[0]
    for bad in (
        f"{other}:{signature}",  # another comune under this one's signature
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        payload,
        "",
        "x:y",
        signing.Signer().sign_object([12, CITIZEN]),  # signed, but not for this purpose
        signing.Signer(salt=SALT).sign_object({"org": 12}),  # ours, but not a token's shape
    ):
        with pytest.raises(BadToken):
            read_token(bad)


def test_a_token_of_another_installation_is_refused() -> None:
    with override_settings(SECRET_KEY="another installation's key, long enough to be one"):
        foreign = make_token(12, CITIZEN)
    with pytest.raises(BadToken):
        read_token(foreign)


def test_the_url_is_under_the_public_address() -> None:
    url = one_click_url("https://notizie.comune.example.it/", 12, CITIZEN)
    assert url.startswith("https://notizie.comune.example.it" + PATH)
    with override_settings(PUBLIC_URL="https://banditore.example.org"):
        assert one_click_url("", 12, CITIZEN).startswith("https://banditore.example.org" + PATH)


@run
async def test_a_mail_clients_one_click_post_carries_a_token_read_token_accepts() -> None:
    async with mail_sandbox() as mail:
        t = transport(mail.smtp_port, public_base_url=mail.receiver.url)
        assert (await t.send(outgoing(), t.render(outgoing()))).error is None
        status, answer = await mail.post("/unsubscribe-click", {"to": CITIZEN})
        assert (status, answer["status"]) == (200, 200)
        [request] = mail.receiver.requests
        assert request.method == "POST"
        assert request.body == b"List-Unsubscribe=One-Click"
        assert request.path.startswith(PATH)
        assert read_token(request.path.removeprefix(PATH)) == Leaver(ORG_ID, CITIZEN)
        # The same URL with one character changed is someone else's forgery.
        with pytest.raises(BadToken):
            read_token(request.path.removeprefix(PATH)[:-2])
        await t.aclose()
