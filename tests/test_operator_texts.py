"""Operators type the reply texts: a stray brace is shown as typed, never fatal."""

import pytest

from banditore.core.models import Organization
from tests.chat import write
from tests.factories import channel_of

CITIZEN = "+393331112222"


def an_org() -> Organization:
    return Organization(
        name="Comune di Pordenone",
        privacy_notice_url="https://comune.example/privacy",
        contacts="URP 800 000 000",
    )


@pytest.fixture
def channel(comune):
    return channel_of(comune)


@pytest.mark.nodb
@pytest.mark.parametrize(
    "typed",
    ["{", "}", "{0}", "{name.__class__}", "{unknown}", "{{name}}", "{name", "name}", "{}{"],
)
def test_anything_but_a_known_placeholder_is_shown_as_typed(typed):
    rendered = an_org().render(f"Ciao {typed} fine")
    expected = typed.replace("{name}", "Comune di Pordenone")
    assert rendered == f"Ciao {expected} fine"


@pytest.mark.nodb
def test_the_known_placeholders_are_filled():
    text = "{name}: privacy {privacy_url}, contatti {contacts}."
    assert an_org().render(text) == (
        "Comune di Pordenone: privacy https://comune.example/privacy, contatti URP 800 000 000."
    )
    assert Organization(name="X").render("{privacy_url} {contacts}") == "- -"


@pytest.mark.nodb
def test_a_value_is_not_read_as_a_placeholder_again():
    org = Organization(name="Comune {contacts}", contacts="URP")
    assert org.render("{name} / {contacts}") == "Comune {contacts} / URP"


def test_a_brace_in_the_welcome_text_does_not_stop_sign_ups(channel, comune):
    comune.welcome_text = "Benvenuto {nome} nel {name}! {0} {"
    comune.save()
    answer = write(channel, CITIZEN, "ISCRIVIMI")
    # The comune's text as typed, stray braces and all; then what was chosen, how to leave.
    assert answer.startswith("Benvenuto {nome} nel Comune di Pordenone! {0} {\n")
    assert answer.count("CANCELLAMI") == 1
