from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "banditore.webhooks"
    label = "webhooks"
