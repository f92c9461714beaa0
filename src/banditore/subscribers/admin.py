from django.contrib import admin

from banditore.subscribers.models import ConsentEvent, Subscriber, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "position"]


class ConsentInline(admin.TabularInline):
    model = ConsentEvent
    fields = ["occurred_at", "action", "source", "notice_version", "evidence"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["phone", "organization", "status", "subscribed_at", "last_inbound_at"]
    list_filter = ["status", "organization"]
    search_fields = ["phone"]
    inlines = [ConsentInline]


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "phone", "action", "source", "notice_version"]
    list_filter = ["action", "source"]
    search_fields = ["phone", "phone_hash"]

    def has_change_permission(self, request, obj=None):
        return False
