"""The channel kinds this installation knows, by name. A new kind is one folder and one line."""

from importlib import import_module

from banditore.channels.base import ChannelKind

# Imported on first use: a kind's module may import Django models.
KINDS = {
    "whatsapp": "banditore.channels.whatsapp.kind",
    "telegram": "banditore.channels.telegram.kind",
}


def get(name: str) -> ChannelKind:
    try:
        module = KINDS[name]
    except KeyError:
        raise LookupError(f"unknown channel kind {name!r}") from None
    return import_module(module).KIND


def of(channel) -> ChannelKind:
    return get(channel.kind)
