from django.contrib import admin

from banditore.core.models import AuditEvent, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "privacy_notice_version"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "organization", "actor_label", "action", "target"]
    list_filter = ["action", "organization"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
