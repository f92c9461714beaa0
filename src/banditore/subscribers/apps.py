from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "banditore.subscribers"
    label = "subscribers"
