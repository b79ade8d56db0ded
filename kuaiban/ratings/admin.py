from django.contrib import admin

from kuaiban.append_only import AppendOnlyAdmin

from .models import Rating, RatingPolicy


@admin.register(RatingPolicy)
class RatingPolicyAdmin(admin.ModelAdmin):
    list_display = ["code", "rating_days"]


@admin.register(Rating)
class RatingAdmin(AppendOnlyAdmin):
    """Read-only: a rating is the applicant's; nobody edits or deletes it."""

    list_display = ["rated_at", "application", "item_case", "grade", "channel", "named"]
    list_filter = ["grade", "channel", "rated_at"]
    list_select_related = ["application", "item_case"]
    raw_id_fields = ["application", "item_case"]
    date_hierarchy = "rated_at"
