from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts
    from django.utils.functional import _StrPromise

from . import guide_versions
from .models import (
    Bundle,
    BundleItem,
    BundleQuestion,
    District,
    FormField,
    GuideVersion,
    ItemMaterial,
    LifeEvent,
    Material,
    ServiceHall,
    ServiceItem,
    SpeedUpEntry,
    Unit,
    Window,
)

GUIDE_FIELDSET: "tuple[_StrPromise, _FieldOpts]" = (
    _("Service guide"),
    {
        "fields": [
            "summary_zh",
            "summary_en",
            "conditions",
            ("channel_hall", "channel_online", "channel_mobile"),
            "special_steps",
            "fee",
            "place_and_hours",
            "result_delivery",
            "progress_query",
            "consultation_phone",
            "complaint_channel",
            "is_published",
            ("guide_version", "guide_published_at"),
        ]
    },
)


class GuideUnderReviewAdmin(admin.ModelAdmin):
    """Saving an item or a bundle proposes its guide change: the change is kept as a draft for
    the legal-review unit and the published guide stays as it is (guide_versions.py)."""

    readonly_fields = ["guide_version", "guide_published_at"]

    def save_model(self, request, obj, form, change):
        before = guide_versions.snapshot_of(obj) if change else None  # the database's, unsaved
        super().save_model(request, obj, form, change)
        request._guide_before = {obj.pk: before}

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        drafts = guide_versions.hold_for_review(
            type(form.instance),
            request._guide_before,
            proposed_by=request.user,
            source=GuideVersion.Source.ADMIN,
        )
        if drafts:
            self.message_user(
                request,
                _(
                    "The guide change is kept as a draft: submit it for legal review on the "
                    "staff desk. The published guide is unchanged until it is approved."
                ),
                messages.WARNING,
            )


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "kind", "phone", "reviews_guides"]
    list_filter = ["kind", "reviews_guides"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Window)
class WindowAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "category"]
    search_fields = ["code", "name_zh"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh"]


@admin.register(LifeEvent)
class LifeEventAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "order"]
    search_fields = ["code", "name_zh"]


@admin.register(ServiceHall)
class ServiceHallAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "level", "district"]
    list_filter = ["level", "district"]
    list_select_related = ["district"]
    search_fields = ["code", "name_zh", "address"]
    filter_horizontal = ["windows"]


class ItemMaterialInline(admin.TabularInline):
    model = ItemMaterial
    extra = 0
    autocomplete_fields = ["material"]


@admin.register(ServiceItem)
class ServiceItemAdmin(GuideUnderReviewAdmin):
    list_display = [
        "code",
        "name_zh",
        "window",
        "unit",
        "kind",
        "statutory_limit",
        "statutory_unit",
        "committed_limit",
        "statutory_mode",
        "visit_target",
        "is_published",
    ]
    list_filter = [
        "kind",
        "window",
        "unit",
        "statutory_unit",
        "statutory_mode",
        "visit_target",
        "is_published",
    ]
    list_select_related = ["window", "unit"]
    search_fields = ["code", "name_zh", "name_en", "legal_basis"]
    inlines = [ItemMaterialInline]
    fieldsets = [
        (None, {"fields": ["code", "name_zh", "name_en", "window", "unit", "kind"]}),
        (
            _("Time limits"),
            {
                "fields": [
                    ("statutory_limit", "statutory_unit"),
                    ("committed_limit", "committed_unit"),
                    "instant_minutes",
                    ("extension_allowed", "extension_limit", "extension_unit"),
                    "legal_basis",
                    ("statutory_mode", "statutory_mode_reason"),
                    "visit_target",
                ]
            },
        ),
        GUIDE_FIELDSET,
    ]


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name_zh",
        "shared_data",
        "data_source",
        "commitment_allowed",
        "physical",
        "replaced_by_online_form",
        "cancelled",
    ]
    list_filter = [
        "shared_data",
        "data_source",
        "commitment_allowed",
        "physical",
        "replaced_by_online_form",
        "cancelled",
    ]
    search_fields = ["code", "name_zh", "name_en"]


class BundleQuestionInline(admin.TabularInline):
    model = BundleQuestion
    extra = 0


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    extra = 0
    autocomplete_fields = ["item"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only the questions of the bundle being edited may condition its items.
        if db_field.name == "condition":
            bundle_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = BundleQuestion.objects.filter(bundle_id=bundle_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Bundle)
class BundleAdmin(GuideUnderReviewAdmin):
    list_display = [
        "code",
        "name_zh",
        "applicant",
        "life_event",
        "lead_unit",
        "window",
        "is_published",
    ]
    list_select_related = ["lead_unit", "window", "life_event"]
    search_fields = ["code", "name_zh", "name_en"]
    inlines = [BundleQuestionInline, BundleItemInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "name_zh",
                    "name_en",
                    "applicant",
                    "life_event",
                    "allows_several_persons",
                    "lead_unit",
                    "window",
                ]
            },
        ),
        GUIDE_FIELDSET,
    ]


@admin.register(SpeedUpEntry)
class SpeedUpEntryAdmin(admin.ModelAdmin):
    list_display = ["number", "name_zh", "note"]
    search_fields = ["name_zh", "name_en"]
    filter_horizontal = ["items"]


@admin.register(FormField)
class FormFieldAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "label_zh",
        "kind",
        "required",
        "not_before",
        "prefill",
        "per_person",
        "order",
    ]
    list_filter = ["kind", "required", "prefill", "per_person"]
    search_fields = ["code", "label_zh", "label_en"]
    filter_horizontal = ["items"]


@admin.register(GuideVersion)
class GuideVersionAdmin(admin.ModelAdmin):
    """The record of every guide version: read only (proposals come from saving an item or a
    bundle, or from the workbook; decisions are taken on the staff desk)."""

    list_display = ["pk", "item", "bundle", "state", "number", "proposed_at", "published_at"]
    list_filter = ["state", "source"]
    list_select_related = ["item", "bundle"]
    search_fields = ["item__code", "bundle__code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
