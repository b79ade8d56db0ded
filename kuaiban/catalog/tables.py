"""The catalog as every application reads it (a bundle's items and questions, each item's
materials and form fields), kept per process until an edit (`kuaiban.process_tables`). A
submission costs no catalog query; the admin, the Excel import and the loaders invalidate
(saves through their signals, bulk writes by calling `catalog_tables.invalidate()`).

The rows returned are shared by the process's requests: read them, never change them."""

from collections import defaultdict

from django.apps import apps

from kuaiban.process_tables import ProcessTables, invalidate_on_save

from .models import Bundle, BundleItem, BundleQuestion, FormField, ItemMaterial, ServiceItem

catalog_tables = ProcessTables("catalog")


def bundle_items(bundle_id: int) -> tuple[BundleItem, ...]:
    """A bundle's items in order, with each item's unit and the question that includes it."""
    return catalog_tables.get(("bundle-items", bundle_id), lambda: _bundle_items(bundle_id))


def _bundle_items(bundle_id: int) -> tuple[BundleItem, ...]:
    rows = BundleItem.objects.filter(bundle_id=bundle_id)
    return tuple(rows.select_related("item__unit", "condition"))


def question_codes(bundle_id: int) -> frozenset[str]:
    """The codes of a bundle's situation questions (情形引导)."""
    return catalog_tables.get(("questions", bundle_id), lambda: _question_codes(bundle_id))


def _question_codes(bundle_id: int) -> frozenset[str]:
    return frozenset(
        BundleQuestion.objects.filter(bundle_id=bundle_id).values_list("code", flat=True)
    )


def item_materials(item_ids: list[int]) -> list[ItemMaterial]:
    """The links of these items to their materials (material and item loaded), ordered by the
    material's code, then the item's."""
    by_item = catalog_tables.get("item-materials", _item_materials)
    links = [link for item_id in dict.fromkeys(item_ids) for link in by_item.get(item_id, ())]
    return sorted(links, key=lambda link: (link.material.code, link.item.code))


def _item_materials() -> dict[int, tuple[ItemMaterial, ...]]:
    by_item: defaultdict[int, list[ItemMaterial]] = defaultdict(list)
    for link in ItemMaterial.objects.select_related("material", "item"):
        by_item[link.item_id].append(link)
    return {item_id: tuple(links) for item_id, links in by_item.items()}


def form_fields(item_ids: list[int]) -> list[FormField]:
    """The fields these items need, each once, in the form's order."""
    by_item = catalog_tables.get("form-fields", _form_fields)
    fields = {f.pk: f for item_id in item_ids for f in by_item.get(item_id, ())}
    return sorted(fields.values(), key=lambda f: (f.order, f.code))


def _form_fields() -> dict[int, tuple[FormField, ...]]:
    fields = {f.pk: f for f in FormField.objects.all()}
    by_item: defaultdict[int, list[FormField]] = defaultdict(list)
    for field_id, item_id in FormField.items.through.objects.values_list(
        "formfield_id", "serviceitem_id"
    ):
        by_item[item_id].append(fields[field_id])
    return {item_id: tuple(rows) for item_id, rows in by_item.items()}


def connect() -> None:
    """Every catalog model's saves and deletes invalidate the tables (CatalogConfig.ready)."""
    invalidate_on_save(catalog_tables, *apps.get_app_config("catalog").get_models())


def bundle(bundle_id: int) -> Bundle:
    """A bundle by id (every bundle is kept: there are ten or so)."""
    return catalog_tables.get("bundles", lambda: {b.pk: b for b in Bundle.objects.all()})[bundle_id]


def items_by_id() -> dict[int, ServiceItem]:
    """Every item by id, with its unit (a few hundred at most)."""
    return catalog_tables.get(
        "items", lambda: {i.pk: i for i in ServiceItem.objects.select_related("unit")}
    )


def item(item_id: int) -> ServiceItem:
    """An item by id, with its unit."""
    return items_by_id()[item_id]


def with_catalog(application):
    """The application's bundle or item from the tables instead of a join: a page or a
    submission loads the application's own row only (the catalog rows are wide)."""
    if application.bundle_id is not None:
        application.bundle = bundle(application.bundle_id)
    if application.item_id is not None:
        application.item = item(application.item_id)
    return application
