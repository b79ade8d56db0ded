from django.contrib import admin

from kuaiban.append_only import AppendOnlyAdmin

from .models import Campaign, CampaignEvent, Phase, PhaseTask


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "year", "starts_on", "ends_on", "launched_at"]
    readonly_fields = ["launched_at", "launched_by"]
    inlines = [PhaseInline]


@admin.register(PhaseTask)
class PhaseTaskAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "phase", "kind", "due_on", "remind_days"]
    list_filter = ["kind", "phase__campaign"]
    filter_horizontal = ["units"]


@admin.register(CampaignEvent)
class CampaignEventAdmin(AppendOnlyAdmin):
    list_display = ["at", "campaign", "unit_task", "action", "actor"]
    list_filter = ["action"]
