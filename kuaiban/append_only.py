"""Tables written once: the case event log, the personal-data access log, the security log.

A row is inserted and never changed: saving it again or deleting it raises, the queryset refuses
bulk updates and deletes, and on PostgreSQL a trigger (`FORBID_SQL`) and the application role's
grants (`create_db_roles`) refuse them too.
"""

from django.contrib import admin
from django.db import models

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION kuaiban_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forbid_sql(table: str) -> str:
    """The trigger that refuses UPDATE and DELETE on `table` (PostgreSQL)."""
    return FUNCTION_SQL + (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION kuaiban_log_is_append_only();"
    )


def allow_sql(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model._meta.db_table} is append-only")

    def delete(self):
        raise TypeError(f"{self.model._meta.db_table} is append-only")


class AppendOnlyModel(models.Model):
    """A row is written once: saving it again or deleting it raises."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{self._meta.db_table} is append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{self._meta.db_table} is append-only")


class AppendOnlyAdmin(admin.ModelAdmin):
    """The admin of an append-only table: rows are read, never added, changed or deleted there."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
