"""The Telegram channel kind, as the registry hands it out."""

from banditore.channels.base import ChannelKind
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.public_channel import post_link
from banditore.channels.telegram.transport import TelegramTransport
from banditore.channels.telegram.webhooks import READER

KIND = ChannelKind(
    name="telegram",
    label="Telegram",
    config=TelegramConfig,
    transport=TelegramTransport,
    webhooks=READER,
    account_field="bot_id",
    secrets=("bot_token", "webhook_secret"),
    # Telegram: "avoid sending more than one message per second" to a chat; the margin keeps
    # the network's jitter from bringing two sends closer than that at Telegram's end.
    recipient_interval=1.1,
    public_field="public_channel",
    post_link=post_link,
)
