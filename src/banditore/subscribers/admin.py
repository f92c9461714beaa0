from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from banditore.subscribers import contacts, privacy, service
from banditore.subscribers.models import ConsentEvent, Subscriber, Topic, Zone


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


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "position"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["phone", "organization", "status", "zone", "subscribed_at", "confirmed_at"]
    list_filter = ["status", "organization"]
    search_fields = ["phone"]
    readonly_fields = ["confirmation_code", "confirmed_at", "approved_at", "last_inbound_at"]
    inlines = [ConsentInline]
    actions = ["approve", "erase"]

    @admin.action(description=_("Approve the selected (proven) sign-ups"))
    def approve(self, request, queryset):
        done = sum(
            bool(
                service.approve(
                    s.organization,
                    contacts.first_address(s),
                    actor_label=request.user.get_username(),
                )
            )
            for s in queryset.select_related("organization")
        )
        self.message_user(
            request,
            ngettext("%d sign-up approved.", "%d sign-ups approved.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Erase the selected subscribers' personal data (GDPR art. 17)"))
    def erase(self, request, queryset):
        done = 0
        for s in list(queryset.select_related("organization")):
            done += privacy.erase(
                s.organization,
                contacts.first_address(s),
                actor_label=request.user.get_username(),
                actor=request.user,
            )
        self.message_user(
            request,
            ngettext("%d subscriber erased.", "%d subscribers erased.", done) % done,
            messages.SUCCESS,
        )


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "phone", "action", "source", "notice_version"]
    list_filter = ["action", "source"]
    search_fields = ["phone", "phone_hash"]

    def has_change_permission(self, request, obj=None):
        return False
