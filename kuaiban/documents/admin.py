from django.contrib import admin

from kuaiban.append_only import AppendOnlyAdmin

from .models import ResultDelivery, ResultDocument


@admin.register(ResultDocument)
class ResultDocumentAdmin(AppendOnlyAdmin):
    """Read-only: a decision's paper is never edited (a revocation is a new document)."""

    list_display = ["issued_at", "application", "item_case", "kind", "issued_by"]
    list_filter = ["kind", "issued_at"]
    list_select_related = ["application", "item_case", "issued_by"]
    raw_id_fields = ["application", "item_case", "revokes", "issued_by"]
    exclude = ["code"]  # the verification code is the paper's, not the admin's
    date_hierarchy = "issued_at"


@admin.register(ResultDelivery)
class ResultDeliveryAdmin(admin.ModelAdmin):
    """Read-only: deliveries are recorded by the window's services, with their events."""

    list_display = ["application", "channel", "carrier", "tracking_number", "delivered_at"]
    list_filter = ["channel", "carrier"]
    raw_id_fields = ["application", "delivered_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
