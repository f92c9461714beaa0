from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "banditore.ops"
    label = "ops"
    verbose_name = "Operations"
