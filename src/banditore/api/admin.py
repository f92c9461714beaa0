from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from banditore.api.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """The IT office sees and revokes keys here; it creates them with `banditore apikey
    create`, the only place the secret is ever shown."""

    list_display = ["name", "organization", "kind", "prefix", "scopes", "created_at",
                    "last_used_at", "revoked_at"]  # fmt: skip
    list_filter = ["kind", "organization"]
    readonly_fields = ["organization", "name", "kind", "scopes", "prefix", "created_at",
                       "last_used_at", "revoked_at"]  # fmt: skip
    exclude = ["hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%d key revoked.", "%d keys revoked.", revoked) % revoked,
            messages.SUCCESS,
        )
