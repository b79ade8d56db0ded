from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


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
