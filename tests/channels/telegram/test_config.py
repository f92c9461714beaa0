"""TelegramConfig: what an operator may save as a Telegram channel's settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from banditore.channels.telegram.config import API_URL, TelegramConfig

from .harness import BOT, settings


def test_the_bot_id_comes_from_the_token_and_the_defaults_are_telegrams() -> None:
    raw = settings("http://127.0.0.1:9")
    del raw["api_base_url"]
    config = TelegramConfig.model_validate(raw)
    assert config.bot_id == BOT.id
    assert config.api_base_url == API_URL
    assert config.method_url("getMe") == f"{API_URL}/bot{BOT.token}/getMe"


def test_a_username_may_be_typed_with_its_at() -> None:
    config = TelegramConfig.model_validate(settings(API_URL, bot_username="@ComuneBot"))
    assert config.bot_username == "ComuneBot"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"bot_token": BOT.token + "\n"}, "bot_token"),
        ({"bot_token": "sandbox-telegram-token"}, "bot_token"),
        ({"bot_id": 42}, "bot_id"),
        ({"bot_username": "Comune"}, "bot_username"),
        ({"bot_username": "1ComuneBot"}, "bot_username"),
        ({"webhook_secret": ""}, "webhook_secret"),
        ({"webhook_secret": "con spazio"}, "webhook_secret"),
        ({"webhook_secret": "x" * 257}, "webhook_secret"),
        ({"public_channel": "comune_avvisi"}, "public_channel"),
        ({"public_channel": "-12345"}, "public_channel"),
        ({"api_base_url": "api.telegram.org"}, "api_base_url"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(changes, field) -> None:
    with pytest.raises(ValidationError) as raised:
        TelegramConfig.model_validate(settings(API_URL, **changes))
    text = str(raised.value)
    assert field in text or (field == "bot_id" and "bot_id must be" in text)


def test_the_longest_secret_and_a_numeric_channel_are_fine() -> None:
    config = TelegramConfig.model_validate(
        settings(API_URL, webhook_secret="A-_9" * 64, public_channel="-1001234567890")
    )
    assert len(config.webhook_secret) == 256
