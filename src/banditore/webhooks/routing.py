"""Which channel each webhook item belongs to.

A body arrives on one channel's URL and is verified with that channel's credentials, but it
may speak for other numbers too: a regional provider hosting several comuni behind one Meta
app registers one callback URL, and Meta posts every number's webhooks there, all signed
with the app's one secret. So an item goes to the channel whose account (WhatsApp's
phone-number id) it names, among the channels of the same kind whose credentials the kind
says sent this body (`shares_sender`: the same app secret). A body signed with comune A's
secret can never touch comune B if B's secret differs; an item naming an account outside
that set is refused and recorded. An item that names no account belongs to the URL's channel.
"""

import logging

from pydantic import ValidationError

from banditore.channels import registry
from banditore.channels.base import ChannelKind
from banditore.channels.models import Channel

log = logging.getLogger(__name__)


def kind_of(channel: Channel) -> ChannelKind:
    return registry.of(channel)


class Router:
    """Routes for the channels events arrived on; built once per run of the processing."""

    def __init__(self):
        self._routes: dict[int, dict[str, Channel]] = {}

    def channel_for(self, received_on: Channel, account: str) -> Channel | None:
        return self._for(received_on).get(account)

    def template_channels(self, received_on: Channel, account: str) -> list[Channel]:
        """The channels whose templates belong to `account` (WhatsApp: a business account,
        shared by its numbers), among those this body may speak for."""
        source = kind_of(received_on).templates
        if source is None:
            return []
        kind = kind_of(received_on)
        found = []
        for channel in {c.pk: c for c in self._for(received_on).values()}.values():
            try:
                config = kind.config.model_validate(channel.config)
            except ValidationError:
                continue
            if source.account(config) == account:
                found.append(channel)
        return found

    def _for(self, received_on: Channel) -> dict[str, Channel]:
        if received_on.pk not in self._routes:
            self._routes[received_on.pk] = _routes(received_on)
        return self._routes[received_on.pk]


def _routes(received_on: Channel) -> dict[str, Channel]:
    kind = kind_of(received_on)
    verified = kind.config.model_validate(received_on.config)
    shares = kind.webhooks.shares_sender
    routes: dict[str, Channel] = {}
    siblings = Channel.objects.filter(kind=received_on.kind).exclude(pk=received_on.pk)
    for other in siblings.select_related("organization").order_by("id"):
        try:
            config = kind.config.model_validate(other.config)
        except ValidationError:
            continue
        if shares(verified, config):
            account = kind.account(config)
            if account in routes:
                log.warning(
                    "account %s is set on two channels; %s wins",
                    account,
                    routes[account],
                    extra={"channel_id": routes[account].pk, "duplicate_channel_id": other.pk},
                )
            routes.setdefault(account, other)
    routes[kind.account(verified)] = received_on
    routes[""] = received_on
    return routes
