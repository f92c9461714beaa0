from django.apps import AppConfig


class BroadcastsConfig(AppConfig):
    name = "banditore.broadcasts"
    label = "broadcasts"
