from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import SecurityEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "role", "unit", "hall", "is_active"]
    list_filter = ["role", "unit", "is_active", "is_staff"]
    list_select_related = ["unit", "hall"]
    search_fields = ["username", "display_name"]
    filter_horizontal = ["windows", "groups", "user_permissions"]
    fieldsets = [
        *(DjangoUserAdmin.fieldsets or ()),
        (
            _("Role in the portal"),
            {
                "fields": [
                    "role",
                    "display_name",
                    "unit",
                    "is_unit_head",
                    "hall",
                    "windows",
                    "district",
                ]
            },
        ),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        (_("Role in the portal"), {"fields": ["role", "display_name", "unit", "hall"]}),
    ]


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """Read-only: the security log is evidence; nobody edits or deletes it."""

    list_display = ["at", "kind", "user", "username", "actor", "ip", "path"]
    list_filter = ["kind", "at"]
    list_select_related = ["user", "actor"]
    search_fields = ["username", "ip", "request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
