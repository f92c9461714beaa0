from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from banditore.webhooks.models import InboundMessage, WebhookEvent, WebhookItemFailure
from banditore.webhooks.tasks import replay


class ItemSetAsideInline(admin.TabularInline):
    model = WebhookItemFailure
    extra = 0
    can_delete = False
    fields = ["kind", "reference", "error", "item"]
    readonly_fields = fields


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "status", "has_messages", "received_at", "failures", "error"]
    list_filter = ["status", "has_messages"]
    readonly_fields = ["digest", "received_at", "processed_at"]
    inlines = [ItemSetAsideInline]
    actions = ["replay_events"]

    @admin.action(description=_("Replay the selected dead-letter events"))
    def replay_events(self, request, queryset):
        count = replay(queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d event queued again.", "%(count)d events queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(WebhookItemFailure)
class WebhookItemFailureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "kind", "reference", "error"]
    list_filter = ["kind"]
    search_fields = ["reference"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "sender", "text", "handling"]
    list_filter = ["handling"]
    search_fields = ["sender", "text"]
