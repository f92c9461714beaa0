"""The WhatsApp channel kind, as the registry hands it out."""

from banditore.channels.base import ChannelKind
from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.templates import SOURCE
from banditore.channels.whatsapp.transport import WhatsAppTransport
from banditore.channels.whatsapp.webhooks import READER

KIND = ChannelKind(
    name="whatsapp",
    label="WhatsApp",
    config=WhatsAppConfig,
    transport=WhatsAppTransport,
    webhooks=READER,
    account_field="phone_number_id",
    templates=SOURCE,
    secrets=("access_token", "app_secret", "verify_token"),
)
