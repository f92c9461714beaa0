from django.contrib import admin

from banditore.broadcasts.models import Broadcast, Delivery

# Set by the lifecycle service only: the console shows them, never edits them.
RECORD = [
    "status", "audience_size", "created_by", "created_by_label", "created_at",
    "submitted_by_label", "submitted_at", "approved_by_label", "approved_at", "scheduled_at",
    "started_by_label", "started_at", "paused_by_label", "paused_at", "cancelled_by_label",
    "cancelled_at", "finished_at", "review_required", "reviewed_by_label", "reviewed_at",
    "estimated_cost", "billable_count", "budget_override_by",
]  # fmt: skip
CONTENT = ["organization", "channel", "title", "text", "topics", "priority"]


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = [
        "id", "__str__", "organization", "status", "priority", "audience_size", "review_required",
    ]  # fmt: skip
    list_filter = ["status", "priority", "review_required"]
    exclude = ["submitted_by", "approved_by", "started_by", "paused_by", "cancelled_by"]

    def get_readonly_fields(self, request, obj=None):
        # What citizens received can't change (the model refuses it too).
        if obj is not None and obj.started_at is not None:
            return RECORD + CONTENT
        return RECORD

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.started_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.created_by_label = request.user.get_username()
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "recipient", "status", "attempts", "error_code", "broadcast"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "wamid"]
    list_select_related = ["broadcast"]
