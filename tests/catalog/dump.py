"""The whole catalog as plain data, for comparing two catalogs (equal dumps, equal catalogs)."""

from django.db import models

from kuaiban.catalog.excel.schema import SHEETS
from kuaiban.catalog.models import BundleQuestion

# Every catalog table is one sheet of the bureau's workbook.
CATALOG_MODELS = [spec.model for spec in SHEETS]
# The published guide's number and date: bookkeeping of the legal review, which moves on with
# every publication (kuaiban/catalog/guide_versions.py), not catalog content.
NOT_DUMPED = {"guide_version", "guide_published_at"}


def _natural(obj):
    if isinstance(obj, BundleQuestion):
        return (obj.bundle.code, obj.code)
    return obj.code


def catalog_dump() -> dict[str, list]:
    """Every field of every catalog row, with references as codes."""
    dump = {}
    for model in CATALOG_MODELS:
        rows = []
        for obj in model._default_manager.all():
            row = {}
            for f in model._meta.concrete_fields:
                if f.primary_key or f.name in NOT_DUMPED:
                    continue
                value = getattr(obj, f.name)
                row[f.name] = _natural(value) if isinstance(value, models.Model) else value
            for f in model._meta.many_to_many:
                if f.remote_field.through._meta.auto_created:  # through-models are dumped
                    row[f.name] = sorted(o.code for o in getattr(obj, f.name).all())
            rows.append(row)
        dump[model.__name__] = sorted(rows, key=repr)
    return dump
