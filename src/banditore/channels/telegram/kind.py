"""The Telegram channel kind, as the registry hands it out."""

from banditore.channels.base import ChannelKind
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.transport import TelegramTransport
from banditore.channels.telegram.webhooks import READER

KIND = ChannelKind(
    name="telegram",
    label="Telegram",
    config=TelegramConfig,
    transport=TelegramTransport,
    webhooks=READER,
    account_field="bot_id",
)
