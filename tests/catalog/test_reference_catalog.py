"""The reference catalog of domain.md §9 (kuaiban/fixtures/catalog.json, loaded by
load_reference_data)."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count

from kuaiban.catalog.models import (
    Bundle,
    BundleItem,
    BundleQuestion,
    ItemMaterial,
    Material,
    ServiceHall,
    ServiceItem,
    SpeedUpEntry,
    Unit,
)
from kuaiban.workdays.units import LimitUnit

pytestmark = pytest.mark.django_db

BUNDLE_NAMES = {
    "B01": "企业招用员工",
    "B02": "企业与员工解除终止劳动合同",
    "B03": "失业",
    "B04": "高校毕业生就业",
    "B05": "事业单位聘用工作人员",
    "B06": "创业",
    "B07": "职工退休",
    "B08": "申领工亡人员有关待遇",
    "B09": "退休人员过世",
    "B10": "申领社会保障卡",
}


def assert_all_clean(queryset):
    for obj in queryset:
        obj.full_clean()


def test_the_catalog_has_exactly_the_ten_bundles_of_the_plan():
    names = dict(Bundle.objects.values_list("code", "name_zh"))
    assert names == BUNDLE_NAMES
    assert set(Bundle.objects.values_list("window__code", flat=True)) == {"BUNDLE"}


def test_the_speed_up_list_has_entries_numbered_one_to_twenty_three_each_with_items():
    numbers = list(SpeedUpEntry.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 24))
    assert not SpeedUpEntry.objects.annotate(n=Count("items")).filter(n=0).exists()


def test_every_catalog_row_passes_full_clean():
    for model in (ServiceItem, Material, ItemMaterial, BundleQuestion, BundleItem, ServiceHall):
        assert model.objects.exists(), model.__name__
        assert_all_clean(model.objects.all())


def test_committed_limits_are_at_most_half_the_statutory_limit_outside_statutory_mode():
    checked = 0
    for item in ServiceItem.objects.filter(
        kind=ServiceItem.Kind.TIME_LIMITED, statutory_mode=False, statutory_limit__isnull=False
    ):
        assert item.committed_limit * 2 <= item.statutory_limit, item.code
        assert item.committed_unit == item.statutory_unit, item.code
        checked += 1
    assert checked >= 20


def test_instant_items_have_no_committed_limit_and_thirty_minutes():
    for item in ServiceItem.objects.filter(kind=ServiceItem.Kind.INSTANT):
        assert item.committed_limit is None, item.code
        assert item.instant_minutes == 30, item.code


def test_statutory_mode_items_give_a_reason():
    special = ServiceItem.objects.get(name_zh="特殊工种/病退退休审批")
    assert special.statutory_mode
    assert special.statutory_mode_reason.strip()
    for item in ServiceItem.objects.filter(statutory_mode=True):
        assert item.statutory_mode_reason.strip(), item.code


def test_no_item_requires_a_cancelled_material():
    assert Material.objects.filter(cancelled=True).count() >= 2
    assert not ItemMaterial.objects.filter(material__cancelled=True).exists()
    for material in Material.objects.filter(cancelled=True):
        assert material.cancellation_basis.strip(), material.code


def test_every_bundle_starts_with_a_stage_one_item_and_asks_only_its_own_questions():
    for bundle in Bundle.objects.all():
        assert bundle.bundle_items.filter(stage=1).exists(), bundle.code
    for link in BundleItem.objects.filter(condition__isnull=False).select_related("condition"):
        assert link.condition.bundle_id == link.bundle_id, str(link)


def test_bundle_stages_follow_the_reconstruction():
    def stages(code):
        return {
            link.item.name_zh: link.stage
            for link in BundleItem.objects.filter(bundle__code=code).select_related("item")
        }

    b03 = stages("B03")
    assert b03["失业登记"] == 1
    assert b03["失业保险金申领"] == 2
    b08 = stages("B08")
    assert b08["工伤认定（一般情形）"] == 1
    assert b08["一次性工亡补助金"] == 2


def test_speed_up_items_shared_by_bundles_are_one_item():
    registration = ServiceItem.objects.get(name_zh="就业登记")
    assert set(registration.bundles.values_list("code", flat=True)) == {"B01", "B04", "B06"}
    assert registration.speedup_entries.get().number == 13


def test_the_death_certificate_is_needed_by_three_or_more_b08_items():
    b08_items = Bundle.objects.get(code="B08").items.all()
    needing = ItemMaterial.objects.filter(item__in=b08_items, material__code="M-DEATH")
    assert needing.values("item").distinct().count() >= 3


def test_the_labour_contract_is_shared_by_several_b01_items():
    b01_items = Bundle.objects.get(code="B01").items.all()
    needing = ItemMaterial.objects.filter(item__in=b01_items, material__code="M-CONTRACT")
    assert needing.count() >= 2


def test_the_card_application_in_b01_depends_on_having_no_card():
    link = BundleItem.objects.get(bundle__code="B01", item__name_zh__startswith="社会保障卡申领")
    assert link.condition.code == "HAS_CARD"
    assert link.condition_answer is False
    assert link.applies({"HAS_CARD": False})
    assert not link.applies({"HAS_CARD": True})


def test_ordinary_work_injury_determination_is_sixty_days_committed_thirty():
    item = ServiceItem.objects.get(name_zh="工伤认定（一般情形）")
    assert item.kind == ServiceItem.Kind.TIME_LIMITED
    assert (item.statutory_limit, item.statutory_unit) == (60, LimitUnit.CALENDAR_DAYS)
    assert (item.committed_limit, item.committed_unit) == (30, LimitUnit.CALENDAR_DAYS)
    entry = SpeedUpEntry.objects.get(number=5)
    assert set(entry.items.values_list("name_zh", flat=True)) == {
        "工伤认定（一般情形）",
        "工伤认定（事实清楚、权利义务明确）",
    }


def test_labour_dispatch_licence_is_twenty_working_days_committed_ten_with_extension():
    item = ServiceItem.objects.get(name_zh="劳务派遣经营许可")
    assert (item.statutory_limit, item.statutory_unit) == (20, LimitUnit.WORKING_DAYS)
    assert (item.committed_limit, item.committed_unit) == (10, LimitUnit.WORKING_DAYS)
    assert item.extension_allowed
    assert (item.extension_limit, item.extension_unit) == (10, LimitUnit.WORKING_DAYS)


def test_unemployment_benefit_is_instant_against_a_ten_day_statutory_limit():
    item = ServiceItem.objects.get(name_zh="失业保险金申领")
    assert item.is_instant
    assert (item.statutory_limit, item.statutory_unit) == (10, LimitUnit.CALENDAR_DAYS)


def test_external_items_are_handled_by_external_departments():
    externals = ServiceItem.objects.filter(code__startswith="EX-")
    assert externals.exists()
    assert set(externals.values_list("unit__kind", flat=True)) == {Unit.Kind.EXTERNAL}


def test_loading_the_catalog_again_changes_no_counts():
    models = (ServiceItem, Material, ItemMaterial, Bundle, BundleQuestion, BundleItem, SpeedUpEntry)
    before = {model: model.objects.count() for model in models}
    call_command("loaddata", str(settings.KUAIBAN_FIXTURES_DIR / "catalog.json"), verbosity=0)
    assert {model: model.objects.count() for model in models} == before
