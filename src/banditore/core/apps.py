from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "banditore.core"
    label = "core"
    verbose_name = "Banditore"
