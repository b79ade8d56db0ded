from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext

from kuaiban.append_only import AppendOnlyAdmin

from . import lockout, services
from .models import SecurityEvent, User

UNLOCK_PERMISSION = "axes.delete_accessattempt"

# django-axes has no Chinese catalog: the labels its attempts' admin shows, marked here so that
# makemessages keeps our translations of them in the project catalog.
AXES_LABELS = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Attempt Time"),
    gettext_noop("IP Address"),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("Path"),
    gettext_noop("Failed Logins"),
    gettext_noop("Locked Out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("HTTP Accept"),
)


def may_unlock(request) -> bool:
    """Who may lift a lock-out: an administrator with the permission to remove attempts."""
    return request.user.is_active and request.user.has_perm(UNLOCK_PERMISSION)


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
                    "sso_subject",
                ]
            },
        ),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        (_("Role in the portal"), {"fields": ["role", "display_name", "unit", "hall"]}),
    ]
    actions = ["unlock_accounts"]

    def has_unlock_permission(self, request) -> bool:
        return may_unlock(request)

    @admin.action(
        description=_("Unlock the selected accounts' log-in (recorded in the security log)"),
        permissions=["unlock"],
    )
    def unlock_accounts(self, request, queryset):
        count = lockout.unlock_accounts(queryset, actor=request.user, request=request)
        if count:
            self.message_user(
                request,
                ngettext(
                    "Log-in unlocked for %(count)d account.",
                    "Log-in unlocked for %(count)d accounts.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("None of the selected accounts was locked out."), messages.WARNING
            )

    def user_change_password(self, request, id, form_url=""):
        """Django's "change password" page; a password it sets (or disables) is a security event
        with the administrator as actor, and the user is told through the outbox."""
        with transaction.atomic():
            target = self.get_object(request, unquote(id))
            before = target.password if target is not None else None
            response = super().user_change_password(request, id, form_url)
            if target is not None and request.method == "POST":
                target.refresh_from_db(fields=["password"])
                if target.password != before:
                    services.password_set_by_admin(user=target, actor=request.user, request=request)
        return response


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """Failed log-ins counted towards a lock-out: read-only. The only way to remove attempts is
    the unlock action, which records who lifted what in the security log (a plain delete would
    not)."""

    list_display = [*AxesAccessAttemptAdmin.list_display, "account"]
    fieldsets = (
        (None, {"fields": ("username", "account", "path_info", "failures_since_start")}),
        (_("Form Data"), {"fields": ("get_data", "post_data")}),
        (_("Meta Data"), {"fields": ("user_agent", "ip_address", "http_accept")}),
    )
    readonly_fields = [*AxesAccessAttemptAdmin.readonly_fields, "account"]
    actions = ["unlock"]

    @admin.display(description=_("account"))
    def account(self, obj):
        return lockout.account_for(obj.username or "") or "-"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_unlock_permission(self, request) -> bool:
        return may_unlock(request)

    @admin.action(
        description=_("Lift the selected lock-outs (recorded in the security log)"),
        permissions=["unlock"],
    )
    def unlock(self, request, queryset):
        count = lockout.unlock_attempts(queryset, actor=request.user, request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d lock-out lifted.",
                "%(count)d lock-outs lifted.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(SecurityEvent)
class SecurityEventAdmin(AppendOnlyAdmin):
    """Read-only: the security log is evidence; nobody edits or deletes it."""

    list_display = ["at", "kind", "user", "username", "actor", "ip", "path"]
    list_filter = ["kind", "at"]
    list_select_related = ["user", "actor"]
    search_fields = ["username", "ip", "request_id"]
    date_hierarchy = "at"
