from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "banditore.channels"
    label = "channels"
