from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "banditore.public"
    label = "public"
