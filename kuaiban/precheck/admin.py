from django.contrib import admin

from kuaiban.append_only import AppendOnlyAdmin

from .models import PrecheckFinding, PrecheckRule, PrecheckVerdict


@admin.register(PrecheckRule)
class PrecheckRuleAdmin(admin.ModelAdmin):
    """Rules are edited here (kind, parameters, severity, explanation, enabled)."""

    list_display = ["code", "name", "kind", "bundle", "item", "severity", "enabled"]
    list_filter = ["kind", "severity", "enabled"]
    search_fields = ["code", "name"]


@admin.register(PrecheckFinding)
class PrecheckFindingAdmin(AppendOnlyAdmin):
    list_display = ["application", "rule", "severity", "field", "created_at"]
    list_filter = ["severity", "rule"]
    list_select_related = ["application", "rule"]
    search_fields = ["application__reference"]


@admin.register(PrecheckVerdict)
class PrecheckVerdictAdmin(AppendOnlyAdmin):
    list_display = ["finding", "agreed", "by", "at"]
    list_select_related = ["finding__rule", "by"]
