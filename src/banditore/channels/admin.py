from django.contrib import admin

from banditore.channels.models import Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "rate_per_second", "status", "lease_owner"]
    readonly_fields = ["lease_owner", "lease_expires_at"]
