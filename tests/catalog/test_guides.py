"""The public service guides: every bundle and item, limits side by side, Chinese and English."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kuaiban.catalog.models import Bundle, ServiceItem

pytestmark = pytest.mark.django_db


def english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/guide/"})
    return client


def test_the_guide_index_lists_every_bundle_and_item(client):
    page = client.get("/guide/").content.decode()
    for bundle in Bundle.objects.all():
        assert f'href="/guide/bundles/{bundle.code}/"' in page
        assert bundle.name_zh in page
    for item in ServiceItem.objects.all():
        assert f'href="/guide/items/{item.code}/"' in page


@pytest.mark.parametrize("code", [f"B{n:02d}" for n in range(1, 11)])
def test_every_bundle_guide_shows_its_items_by_stage_and_one_list_of_materials(client, code):
    bundle = Bundle.objects.get(code=code)
    response = client.get(f"/guide/bundles/{code}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert bundle.name_zh in page
    assert "阶段 1" in page
    for item in bundle.items.all():
        assert item.name_zh in page
    # Each material is listed once however many of the bundle's items need it.
    for material in {m for item in bundle.items.all() for m in item.materials.all()}:
        assert page.count(f"<strong>{material.name_zh}</strong>") == 1


def test_a_material_needed_by_several_items_is_listed_once_with_its_items(client):
    bundle = Bundle.objects.get(code="B08")
    page = client.get("/guide/bundles/B08/").content.decode()
    death = bundle.items.first().materials.model.objects.get(name_zh__contains="死亡")
    assert page.count(f"<strong>{death.name_zh}</strong>") == 1
    assert "可用告知承诺替代" in page


def test_an_item_guide_shows_statutory_and_committed_limits_side_by_side(client):
    item = ServiceItem.objects.get(name_zh="劳务派遣经营许可")
    page = client.get(f"/guide/items/{item.code}/").content.decode()
    assert "法定时限" in page and "20 个工作日" in page
    assert "承诺时限" in page and "10 个工作日" in page
    assert "50%" in page
    assert "可延长 10 个工作日" in page
    for label in [
        "办理条件",
        "办理渠道",
        "收费标准",
        "办理地点和时间",
        "结果送达",
        "进度查询",
        "咨询电话",
        "监督投诉",
    ]:
        assert label in page


def test_an_instant_item_promises_thirty_office_minutes(client):
    item = ServiceItem.objects.filter(kind="instant", statutory_limit__isnull=False).first()
    page = client.get(f"/guide/items/{item.code}/").content.decode()
    assert "即办" in page and "30 分钟" in page


def test_english_is_one_switch_away(client):
    english(client)
    item = ServiceItem.objects.get(name_zh="劳务派遣经营许可")
    page = client.get(f"/guide/items/{item.code}/").content.decode()
    assert item.name_en in page
    assert "Statutory limit" in page and "20 working days" in page
    assert '<html lang="en">' in page


def test_the_browser_language_does_not_override_chinese(client):
    page = client.get("/guide/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "服务指南" in page


def test_an_unpublished_or_unknown_guide_is_not_found(client):
    item = ServiceItem.objects.first()
    ServiceItem.objects.filter(pk=item.pk).update(is_published=False)
    assert client.get(f"/guide/items/{item.code}/").status_code == 404
    assert client.get("/guide/bundles/B99/").status_code == 404


def test_guide_pages_issue_a_constant_number_of_queries(client):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    index = count("/guide/")
    small_bundle, big_bundle = count("/guide/bundles/B10/"), count("/guide/bundles/B08/")
    assert small_bundle == big_bundle
    # Doubling the catalog does not change the index's query count.
    template = ServiceItem.objects.first()
    for n in range(40):
        template.pk, template.code = None, f"ZZ-{n:03d}"
        template.save()
    assert count("/guide/") == index


def test_the_admin_speaks_chinese(admin_client):
    page = admin_client.get("/admin/catalog/serviceitem/").content.decode()
    assert "服务事项" in page
    assert "法定时限" in page


def test_the_guide_index_finds_a_service_by_a_word_of_its_name(client):
    page = client.get("/guide/", {"q": "退休"}).content.decode()
    assert 'data-code="B07"' in page  # 退休一件事
    assert 'data-code="B01"' not in page
    assert 'data-testid="guide-found"' in page
    nothing = client.get("/guide/", {"q": "没有这种服务"}).content.decode()
    assert 'data-testid="guide-none"' in nothing


def test_the_guide_index_shows_an_employer_the_employer_s_bundles(client):
    from kuaiban.catalog.models import Bundle
    from kuaiban.catalog.selectors import AUDIENCES

    page = client.get("/guide/", {"for": "employer"}).content.decode()
    for bundle in Bundle.objects.filter(is_published=True):
        shown = f'data-code="{bundle.code}"' in page
        assert shown == (bundle.applicant in AUDIENCES["employer"]), bundle.code
    # an unknown audience is everyone, a long query is cut, not refused
    assert client.get("/guide/", {"for": "aliens", "q": "x" * 500}).status_code == 200


def test_the_guide_index_groups_items_by_their_window_s_category(client):
    from kuaiban.catalog.selectors import guide_index, published_items

    index = guide_index()
    for _label, items in index.item_groups:
        assert len({item.window.category for item in items}) == 1
    assert sum(len(items) for _l, items in index.item_groups) == len(published_items())


def test_the_guide_index_groups_bundles_by_life_event_and_finds_them_by_its_name(client):
    """A citizen looks for 身后事 or 退休, not for bundle codes: the index lists the bundles under
    their life events (catalog data, in the events' order), and a word of the event finds them."""
    from kuaiban.catalog.models import LifeEvent
    from kuaiban.catalog.selectors import guide_index

    groups = guide_index().bundle_groups
    events = list(LifeEvent.objects.order_by("order", "code"))
    assert [label for label, _bundles in groups] == [e.name_zh for e in events]
    bereavement = dict(groups)["身后事"]
    assert [b.code for b in bereavement] == ["B08", "B09"]
    assert sum(len(bundles) for _label, bundles in groups) == Bundle.objects.count()

    page = client.get("/guide/", {"q": "身后事"}).content.decode()
    assert 'data-code="B08"' in page and 'data-code="B09"' in page
    assert 'data-code="B07"' not in page
    # A bundle no event claims is still listed, last.
    Bundle.objects.filter(code="B10").update(life_event=None)
    assert guide_index().bundle_groups[-1][1][0].code == "B10"
