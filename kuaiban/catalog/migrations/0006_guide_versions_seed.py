"""Version 1 of every existing item's and bundle's guide, published now from the current values;
the policy and regulations division (ZCFG, 政策法规处) reviews guide changes."""

from django.db import migrations
from django.utils import timezone

GUIDE_FIELDS = (
    "summary_zh",
    "summary_en",
    "conditions",
    "channel_hall",
    "channel_online",
    "channel_mobile",
    "special_steps",
    "fee",
    "place_and_hours",
    "result_delivery",
    "progress_query",
    "consultation_phone",
    "complaint_channel",
)
ITEM_FIELDS = (
    "kind",
    "statutory_limit",
    "statutory_unit",
    "committed_limit",
    "committed_unit",
    "instant_minutes",
    "extension_allowed",
    "extension_limit",
    "extension_unit",
    "legal_basis",
    "statutory_mode",
    "statutory_mode_reason",
    "visit_target",
    *GUIDE_FIELDS,
)


def seed(apps, schema_editor):
    ServiceItem = apps.get_model("catalog", "ServiceItem")
    Bundle = apps.get_model("catalog", "Bundle")
    ItemMaterial = apps.get_model("catalog", "ItemMaterial")
    BundleItem = apps.get_model("catalog", "BundleItem")
    GuideVersion = apps.get_model("catalog", "GuideVersion")
    Unit = apps.get_model("catalog", "Unit")
    Unit.objects.filter(code="ZCFG").update(reviews_guides=True)
    now = timezone.now()
    versions = []
    for row in ServiceItem.objects.values("pk", *ITEM_FIELDS):
        pk = row.pop("pk")
        materials = [
            {"material": code, "note": note, "order": order}
            for code, note, order in ItemMaterial.objects.filter(item_id=pk)
            .order_by("order", "material__code")
            .values_list("material__code", "note", "order")
        ]
        snapshot = {"fields": row, "materials": materials}
        versions.append(GuideVersion(item_id=pk, snapshot=snapshot))
    for row in Bundle.objects.values("pk", *GUIDE_FIELDS):
        pk = row.pop("pk")
        items = [
            {"item": c, "stage": s, "condition": q, "condition_answer": a, "order": o}
            for c, s, q, a, o in BundleItem.objects.filter(bundle_id=pk)
            .order_by("stage", "order", "item__code")
            .values_list("item__code", "stage", "condition__code", "condition_answer", "order")
        ]
        versions.append(GuideVersion(bundle_id=pk, snapshot={"fields": row, "items": items}))
    for version in versions:
        version.state = "published"
        version.number = 1
        version.source = "initial"
        version.proposed_at = version.published_at = now
    GuideVersion.objects.bulk_create(versions)
    ServiceItem.objects.update(guide_version=1, guide_published_at=now)
    Bundle.objects.update(guide_version=1, guide_published_at=now)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_guide_versions")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
