from django.contrib import admin

from banditore.broadcasts.models import Broadcast, Delivery


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ["id", "__str__", "organization", "status", "priority", "audience_size"]
    list_filter = ["status", "priority"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "recipient", "status", "attempts", "error_code", "broadcast"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "wamid"]
    list_select_related = ["broadcast"]
