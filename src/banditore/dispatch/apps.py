from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "banditore.dispatch"
    label = "dispatch"
