from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kuaiban.accounts.identity import mask_phone

from .models import Notification
from .services import notifications_retry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, read-only: administrators find dead letters (filter by status) and put them
    back in the queue once the cause is fixed. A mobile number is only ever shown masked."""

    list_display = [
        "created_at",
        "recipient",
        "channel",
        "address",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    list_select_related = ["recipient"]
    search_fields = ["subject", "recipient__username", "recipient__display_name"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    readonly_fields = fields = (
        "recipient",
        "channel",
        "address",
        "subject",
        "body",
        "link",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "read_at",
    )

    @admin.display(description=_("sent to"))
    def address(self, notification: Notification) -> str:
        recipient = notification.recipient
        if notification.channel == Notification.Channel.SMS:
            return mask_phone(notification.phone) or getattr(recipient, "masked_phone", "")
        if notification.channel == Notification.Channel.EMAIL and recipient is not None:
            return recipient.email
        return ""

    @admin.action(description=_("Retry the selected dead notifications"), permissions=["change"])
    def retry(self, request, queryset):
        retried = notifications_retry(actor=request.user, ids=queryset.values_list("pk", flat=True))
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification is back in the queue.",
                    "%(count)d notifications are back in the queue.",
                    retried,
                )
                % {"count": retried},
            )
        else:
            self.message_user(
                request, _("None of the selected notifications was dead."), messages.WARNING
            )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
