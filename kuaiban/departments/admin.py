from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import DepartmentClient, WebhookDelivery
from .services import client_revoke
from .webhooks import webhooks_retry


@admin.register(DepartmentClient)
class DepartmentClientAdmin(admin.ModelAdmin):
    """Read-mostly: clients are issued and rotated by `manage.py department_client` (the secret
    is shown once, there); here an administrator sees them and revokes one at once."""

    list_display = [
        "name",
        "kind",
        "unit",
        "client_id",
        "webhook_url",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", "revoked_at"]
    list_select_related = ["unit"]
    search_fields = ["name", "client_id", "unit__code"]
    actions = ["revoke"]
    readonly_fields = fields = (
        "name",
        "kind",
        "unit",
        "client_id",
        "service_account",
        "webhook_url",
        "created_at",
        "rotated_at",
        "last_used_at",
        "revoked_at",
    )

    @admin.action(description=_("Revoke the selected clients"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(client_revoke(client=client) for client in queryset)
        self.message_user(
            request,
            ngettext("%(count)d client revoked.", "%(count)d clients revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS if revoked else messages.WARNING,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The webhooks' outbox, read-only: dead deliveries are found (filter by status) and put back
    in the queue once the department's receiver works again."""

    list_display = [
        "created_at",
        "client",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    ]
    list_filter = ["status", "event", "client"]
    list_select_related = ["client"]
    search_fields = ["idempotency_key"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    readonly_fields = fields = (
        "client",
        "event",
        "idempotency_key",
        "payload",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    )

    @admin.action(description=_("Retry the selected dead deliveries"), permissions=["change"])
    def retry(self, request, queryset):
        retried = webhooks_retry(ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery is back in the queue.",
                "%(count)d deliveries are back in the queue.",
                retried,
            )
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
