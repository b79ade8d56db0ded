"""Reads of the catalog for the public service guides. Query counts do not grow with rows."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

from .models import Bundle, BundleItem, ItemMaterial, Material, ServiceItem, VisitTarget


def published_bundles() -> QuerySet[Bundle]:
    return Bundle.objects.filter(is_published=True).select_related("lead_unit", "window")


def published_items() -> QuerySet[ServiceItem]:
    return (
        ServiceItem.objects.filter(is_published=True)
        .select_related("window", "unit")
        .prefetch_related("speedup_entries")
        .order_by("window__code", "code")
    )


@dataclass
class GuideMaterial:
    """A material as the applicant meets it: once, with every item that needs it."""

    material: Material
    items: list[ServiceItem] = field(default_factory=list)


def _materials_for(item_materials) -> list[GuideMaterial]:
    by_material: dict[int, GuideMaterial] = {}
    for link in item_materials:
        entry = by_material.setdefault(link.material_id, GuideMaterial(link.material))
        entry.items.append(link.item)
    return sorted(by_material.values(), key=lambda m: m.material.code)


@dataclass
class BundleGuide:
    bundle: Bundle
    stages: list[tuple[int, list[BundleItem]]]
    materials: list[GuideMaterial]

    @property
    def visit_target(self) -> VisitTarget:
        return VisitTarget.of_items(bi.item.visit_target for _, bis in self.stages for bi in bis)


def bundle_guide(code: str) -> BundleGuide | None:
    """The guide of a published bundle (None when there is none by that code)."""
    bundle = (
        published_bundles()
        .prefetch_related(
            Prefetch(
                "bundle_items",
                queryset=BundleItem.objects.select_related(
                    "item__unit", "item__window", "condition"
                ),
            ),
            "questions",
        )
        .filter(code=code)
        .first()
    )
    if bundle is None:
        return None
    stages: dict[int, list[BundleItem]] = {}
    for bundle_item in bundle.bundle_items.all():
        stages.setdefault(bundle_item.stage, []).append(bundle_item)
    links = ItemMaterial.objects.filter(item__bundles=bundle).select_related("material", "item")
    return BundleGuide(bundle, sorted(stages.items()), _materials_for(links))


@dataclass
class ItemGuide:
    item: ServiceItem
    materials: list[GuideMaterial]
    bundles: list[Bundle]


def item_guide(code: str) -> ItemGuide | None:
    """The guide of a published item (None when there is none by that code)."""
    item = (
        published_items()
        .prefetch_related(
            Prefetch("bundles", queryset=Bundle.objects.filter(is_published=True).distinct())
        )
        .filter(code=code)
        .first()
    )
    if item is None:
        return None
    links = ItemMaterial.objects.filter(item=item).select_related("material", "item")
    return ItemGuide(item, _materials_for(links), list(item.bundles.all()))
