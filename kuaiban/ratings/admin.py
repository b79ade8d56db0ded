from django.contrib import admin

from .models import Rating, RatingPolicy


@admin.register(RatingPolicy)
class RatingPolicyAdmin(admin.ModelAdmin):
    list_display = ["code", "rating_days"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    """Read-only: a rating is the applicant's; nobody edits or deletes it."""

    list_display = ["rated_at", "application", "item_case", "grade", "channel", "named"]
    list_filter = ["grade", "channel", "rated_at"]
    list_select_related = ["application", "item_case"]
    raw_id_fields = ["application", "item_case"]
    date_hierarchy = "rated_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
