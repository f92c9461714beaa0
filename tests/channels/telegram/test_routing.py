"""The Telegram kind fits the kind-free webhook path as it is: a body verified on a
channel's URL is stored, and its items (which name no bot) go to that channel only."""

from __future__ import annotations

import pytest

from banditore.channels import registry
from banditore.channels.models import Channel
from banditore.webhooks import intake
from banditore.webhooks.routing import Router
from tests.factories import make_comune

from .harness import BOT, SECRET, settings

BODY = (
    b'{"update_id": 5, "message": {"message_id": 2, "date": 1765000000, "text": "INFO",'
    b' "chat": {"id": 424242, "type": "private"}, "from": {"id": 424242, "is_bot": false}}}'
)


@pytest.fixture
def telegram_kind(monkeypatch):
    monkeypatch.setitem(registry.KINDS, "telegram", "banditore.channels.telegram.kind")
    return registry.get("telegram")


def telegram_channel(org, **changes) -> Channel:
    return Channel.objects.create(
        organization=org, kind="telegram", name="Telegram", config=settings("http://x", **changes)
    )


def test_the_kind_names_its_parts(telegram_kind) -> None:
    config = telegram_kind.config.model_validate(settings("http://x"))
    assert telegram_kind.account(config) == str(BOT.id)
    assert telegram_kind.templates is None


def test_a_body_with_the_secret_is_stored_and_without_it_refused(telegram_kind) -> None:
    config = telegram_kind.config.model_validate(settings("http://x"))
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    answer = intake.accept(telegram_kind, config, 1, BODY, headers)
    assert answer.status == 200
    assert answer.event.has_messages
    assert intake.accept(telegram_kind, config, 1, BODY, {}).status == 403
    assert intake.accept(telegram_kind, config, 1, b"[]", headers).status == 400


def test_items_go_to_the_channel_whose_url_received_them_only(telegram_kind, db) -> None:
    a = telegram_channel(make_comune("a"))
    # Another comune's bot: a body that reached a's URL must never speak for b.
    b = telegram_channel(
        make_comune("b"), bot_token="987654321:altro-token", bot_username="AltroBot"
    )
    [item] = telegram_kind.webhooks.parse(BODY)
    router = Router()
    assert router.channel_for(a, item.account) == a
    assert router.channel_for(b, item.account) == b
    assert router.channel_for(a, "987654321") is None
