from django.contrib import admin

from banditore.webhooks.models import InboundMessage, WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "status", "received_at", "attempts"]
    list_filter = ["status"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "sender", "text", "handling"]
    list_filter = ["handling"]
    search_fields = ["sender", "text"]
