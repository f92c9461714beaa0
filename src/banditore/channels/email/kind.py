"""The e-mail channel kind, as the registry hands it out."""

from banditore.channels.base import ChannelKind
from banditore.channels.email.config import EmailConfig
from banditore.channels.email.transport import EmailTransport
from banditore.channels.email.webhooks import READER

KIND = ChannelKind(
    name="email",
    label="E-mail",
    config=EmailConfig,
    transport=EmailTransport,
    webhooks=READER,
    # The from address: a Postmark bounce names it ("From"); lower-cased by the settings.
    account_field="from_email",
)
