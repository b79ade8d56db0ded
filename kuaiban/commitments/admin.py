from django.contrib import admin

from kuaiban.append_only import AppendOnlyAdmin

from .models import (
    CheckEvent,
    CheckPolicy,
    CommitmentBar,
    CommitmentCheck,
    HearingNotice,
    RepaymentOrder,
)


@admin.register(CheckPolicy)
class CheckPolicyAdmin(admin.ModelAdmin):
    list_display = ["material", "method", "days", "hearing_days"]
    list_select_related = ["material"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changed only through the services (the unit's desk), so every step has its event."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CommitmentCheck)
class CommitmentCheckAdmin(ReadOnlyAdmin):
    list_display = ["application", "material", "unit", "state", "method", "due_at", "concluded_at"]
    list_filter = ["state", "method", "unit"]
    list_select_related = ["application", "material", "unit"]
    raw_id_fields = ["commitment", "application", "item_case", "owner", "evidence"]


@admin.register(HearingNotice)
class HearingNoticeAdmin(ReadOnlyAdmin):
    list_display = ["check_row", "state", "sent_at", "respond_by", "outcome"]
    list_filter = ["state", "outcome"]


@admin.register(RepaymentOrder)
class RepaymentOrderAdmin(ReadOnlyAdmin):
    list_display = ["check_row", "amount", "due_date", "paid_at"]


@admin.register(CommitmentBar)
class CommitmentBarAdmin(ReadOnlyAdmin):
    list_display = ["person", "starts_at", "until", "lifted_at"]
    raw_id_fields = ["person", "check_row"]


@admin.register(CheckEvent)
class CheckEventAdmin(AppendOnlyAdmin):
    list_display = ["at", "check_row", "action", "actor"]
    list_filter = ["action"]
