"""E-mail's side of the webhook contract, for ESPs whose tracking webhook is Postmark's
format (Postmark, and the sandbox's mail sink, which posts exactly that).

How tracking is wired. anymail's tracking views are Django views that parse a request and
send `anymail.signals.tracking` at once; the contract instead stores a body verified in the
receiver and parses it later in the worker (`parse(body)` without the request). Postmark fits
the contract: one JSON object per POST, checked only by HTTP basic auth (anymail's
WEBHOOK_SECRET, here the channel's `tracking_secret`), so this reader verifies the basic auth
itself and parses the stored body with anymail's own Postmark conversion
(`PostmarkTrackingWebhookView.esp_to_anymail_event`), then `tracking.items`. Register
PUBLIC_URL/webhooks/email/<channel-id> in Postmark with the secret in the URL
(https://user:password@…), as the sandbox's `callback_url` does.

Other ESPs (SES wrapped in SNS, Mailgun's signatures, SendGrid's arrays, Brevo's batches)
don't fit a body-only parser: mount anymail's own view per channel, e.g.
`path("anymail/<int:channel_id>/<esp>/tracking/", View.as_view(webhook_secret=…))`, and a
receiver of `anymail.signals.tracking` that calls `tracking.items(event, account=<the
channel's from_email>)` and stores the items as this reader's would be. That view is the
web app's (someone else's); `tracking.items` is the whole of the e-mail side of it.
"""

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from functools import cache

from django.core.exceptions import ImproperlyConfigured

from banditore.channels.base import MalformedWebhook, StatusItem, StopItem
from banditore.channels.email import tracking
from banditore.channels.email.config import EmailConfig, address
from banditore.channels.telegram.webhooks import header

ESP_NAME = "Postmark"


@cache
def _postmark():
    from anymail.webhooks.postmark import PostmarkTrackingWebhookView

    # Only its conversion is used: the secret checked here is the channel's, not a setting.
    return PostmarkTrackingWebhookView(webhook_secret="unused:unused")


def basic_auth(headers: Mapping[str, str]) -> bytes | None:
    """The "user:password" of an Authorization: Basic header, as bytes; None without one."""
    value = header(headers, "Authorization") or ""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


class EmailWebhooks:
    def handshake(self, config: EmailConfig, params: Mapping[str, str]) -> str | None:
        # Postmark checks a URL by POSTing a test event, never with a GET.
        return None

    def verify(self, config: EmailConfig, body: bytes, headers: Mapping[str, str]) -> bool:
        given = basic_auth(headers)
        if given is None or not config.tracking_secret:
            return False
        return hmac.compare_digest(config.tracking_secret.encode(), given)

    def shares_sender(self, verified: EmailConfig, other: EmailConfig) -> bool:
        # Each channel has its own URL and secret: a body never speaks for another channel.
        return False

    def sender_address(self, sender: str) -> str | None:
        try:
            return address(sender)
        except ValueError:
            return None

    def parse(self, body: bytes) -> list[StatusItem | StopItem]:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise MalformedWebhook(f"not JSON: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise MalformedWebhook("not a Postmark event: not a JSON object")
        try:
            event = _postmark().esp_to_anymail_event(data)
        except ImproperlyConfigured as exc:
            # An inbound message posted to the tracking URL.
            raise MalformedWebhook(f"not a tracking event: {exc}"[:500]) from None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise MalformedWebhook(f"not a Postmark event: {exc!r}"[:500]) from None
        return tracking.items(event, esp_name=ESP_NAME)


READER = EmailWebhooks()
