"""Tables kept per process (kuaiban/process_tables.py): the catalog and the rules are read once per
process and edit, an edit reaches the other processes once it commits, and the shared version is
read once per request."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings

from kuaiban import optional_cache, process_tables
from kuaiban.catalog import tables as catalog_tables
from kuaiban.catalog.models import Bundle, BundleItem

pytestmark = pytest.mark.django_db


def _b07_items() -> list[str]:
    return [row.item.code for row in catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk)]


def _b07_orders() -> dict[int, int]:
    rows = catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk)
    return {row.pk: row.order for row in rows}


def test_an_edit_reaches_the_other_processes_only_once_it_commits(committed_db):
    before = _b07_orders()
    token = cache.get(catalog_tables.catalog_tables.version_key)
    assert token is not None
    row = BundleItem.objects.filter(bundle__code="B07").order_by("order").last()
    with transaction.atomic():
        row.order = 99
        row.save()
        # Not committed: another process must keep the old rows (it could otherwise rebuild
        # from them under a new token and keep them), so the shared token stays.
        assert cache.get(catalog_tables.catalog_tables.version_key) == token
    # Committed: the token is gone; every process rebuilds on its next read.
    assert cache.get(catalog_tables.catalog_tables.version_key) is None
    after = _b07_orders()
    assert before[row.pk] != 99 and after == before | {row.pk: 99}
    assert cache.get(catalog_tables.catalog_tables.version_key) not in (None, token)


def test_a_process_keeps_its_rows_until_the_token_changes():
    first = catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk)
    assert catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk) is first
    # Another process's committed edit: only the shared token changes here.
    cache.delete(catalog_tables.catalog_tables.version_key)
    assert catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk) is not first


def test_every_family_s_version_is_read_once_per_request(client):
    calls = mock.Mock(wraps=optional_cache.get_many)
    with mock.patch.object(optional_cache, "get_many", calls):
        process_tables.reading_start()
        try:
            _b07_items()
            catalog_tables.form_fields([])
            from kuaiban.precheck.services import enabled_rules
            from kuaiban.workdays.calendar import calendar_from_db

            enabled_rules()
            calendar_from_db()
        finally:
            process_tables.reading_end()
    assert calls.call_count == 1
    keys = calls.call_args.args[0]
    assert {"catalog:version", "precheck:version", "workdays:calendar:version"} <= set(keys)


DEAD_CACHE = override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens: connection refused
        }
    }
)


def test_with_the_cache_down_the_tables_still_answer_and_are_rebuilt_every_minute():
    with DEAD_CACHE, mock.patch("kuaiban.process_tables.time.monotonic", return_value=600.0):
        first = catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk)
        assert [row.item.code for row in first]
        assert catalog_tables.bundle_items(first[0].bundle_id) is first
    with DEAD_CACHE, mock.patch("kuaiban.process_tables.time.monotonic", return_value=661.0):
        assert catalog_tables.bundle_items(first[0].bundle_id) is not first
    optional_cache.reset()


def test_rows_read_inside_an_edit_that_rolls_back_are_not_kept(committed_db):
    before = _b07_orders()
    row = BundleItem.objects.filter(bundle__code="B07").order_by("order").last()

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        row.order = 99
        row.save()
        assert _b07_orders()[row.pk] == 99  # the editing transaction sees its own edit ...
        raise Refused  # ... say the import found a problem afterwards
    assert _b07_orders() == before  # ... and nobody keeps it


LOCAL_CACHE = override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)


def test_with_a_cache_of_each_process_s_own_nothing_outlives_a_request():
    # The embedded default: the web process and the timers each have their own cache, so an
    # edit in one could never reach the other through it.
    with LOCAL_CACHE:
        process_tables.reading_start()
        try:
            first = catalog_tables.bundle_items(Bundle.objects.get(code="B07").pk)
            assert catalog_tables.bundle_items(first[0].bundle_id) is first  # within one request
        finally:
            process_tables.reading_end()
        process_tables.reading_start()
        try:
            assert catalog_tables.bundle_items(first[0].bundle_id) is not first  # the next one
        finally:
            process_tables.reading_end()
