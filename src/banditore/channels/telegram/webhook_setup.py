"""Telling Telegram where to post a bot's updates (setWebhook), and asking what it knows.

Blocking (urllib): `banditore run` and the console call it outside any event loop.
"""

from banditore.channels.telegram.client import Answer, call
from banditore.channels.telegram.config import TelegramConfig

# What the webhook reader turns into items; nothing else needs to cross the Internet.
ALLOWED_UPDATES = ["message", "my_chat_member"]


class WebhookSetupError(Exception):
    """Telegram refused the webhook, or could not be reached."""


def set_webhook(config: TelegramConfig, url: str, timeout: float = 10.0) -> None:
    """Point the bot's updates at `url` (PUBLIC_URL/webhooks/telegram/<channel-id>), each
    carrying the channel's secret in X-Telegram-Bot-Api-Secret-Token. Raises WebhookSetupError."""
    params = {
        "url": url,
        "secret_token": config.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
    }
    _result(call(config, "setWebhook", params, timeout), "setWebhook")


def webhook_info(config: TelegramConfig, timeout: float = 10.0) -> dict:
    """getWebhookInfo: url, pending_update_count, last_error_message, allowed_updates, ….
    Raises WebhookSetupError."""
    result = _result(call(config, "getWebhookInfo", {}, timeout), "getWebhookInfo")
    if not isinstance(result, dict):
        raise WebhookSetupError(f"getWebhookInfo: unexpected answer {result!r}"[:300])
    return result


def _result(answer: Answer, method: str):
    if answer.error is not None:
        raise WebhookSetupError(f"{method}: {answer.error.title}")
    return answer.result
