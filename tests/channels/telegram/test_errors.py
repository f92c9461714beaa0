"""What a Telegram refusal makes the dispatcher do: a refusal that every citizen's copy of a
broadcast would get too stops the channel, rather than being retried for the whole list."""

import pytest

from banditore.channels.base import Action
from banditore.channels.telegram.errors import classify


@pytest.mark.parametrize(
    ("status", "description", "code"),
    [
        (400, "Bad Request: message caption is too long", 40010),
        (400, "Bad Request: wrong file identifier/HTTP URL specified", 40011),
        (400, "Bad Request: IMAGE_PROCESS_FAILED", 40012),
        (400, "Bad Request: PHOTO_INVALID_DIMENSIONS", 40013),
        (400, "Bad Request: file is too big", 40014),
        (413, "Request Entity Too Large", 41301),
    ],
)
def test_a_refusal_of_the_broadcast_itself_stops_the_channel(status, description, code):
    error = classify(status, description)
    assert (error.code, error.verdict.action) == (code, Action.STOP_CHANNEL)
    assert error.title == description


def test_an_unknown_bad_request_is_still_retried():
    assert classify(400, "Bad Request: something new").verdict.action == Action.RETRY
