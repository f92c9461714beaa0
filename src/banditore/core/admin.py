from django.contrib import admin

from banditore.core.models import AuditEvent, Operator, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "organization", "actor_label", "action", "target"]
    list_filter = ["action", "organization"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


# The admin is the IT office's tool (comuni, channels, staff accounts): only superusers.
# The press office works in the console, which scopes every page to its own comune; an
# is_staff flag set by mistake must not open every comune's data.
def _it_office_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _it_office_only


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "reads_inbound"]
    list_filter = ["organization", "role"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
