"""Service guides under legal review (issue 14, part 3): a guide change is a draft version, the
policy and regulations division (ZCFG) approves or returns it, only an approved version is
published, and a case keeps the version it was filed under."""

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kuaiban.catalog import guide_versions
from kuaiban.catalog.excel import CatalogImportError, catalog_export, catalog_import
from kuaiban.catalog.models import (
    Bundle,
    BundleItem,
    BundleQuestion,
    GuideVersion,
    ItemMaterial,
    Material,
    ServiceItem,
)
from tests.builders import (
    case_of,
    guide_administrator,
    legal_reviewer,
    publish_drafts,
    reviewer_of,
    single_item_submitted,
    submitted,
)
from tests.catalog.workbook import edit, find_row, header_index, set_cell

pytestmark = pytest.mark.django_db

ITEM = "LR-002"


def guide_page(client, code: str = ITEM, kind: str = "items") -> str:
    response = client.get(f"/guide/{kind}/{code}/")
    assert response.status_code == 200
    return response.content.decode()


def propose_fee(code: str, fee: str, proposer, model=ServiceItem) -> GuideVersion:
    """A change written to the live row and held for review, as the admin and the import do."""
    subject = model.objects.get(code=code)
    before = {subject.pk: guide_versions.snapshot_of(subject)}
    model.objects.filter(pk=subject.pk).update(fee=fee)
    (version,) = guide_versions.hold_for_review(model, before, proposed_by=proposer)
    return version


def submitted_fee(code: str, fee: str, model=ServiceItem):
    administrator = guide_administrator()
    version = propose_fee(code, fee, administrator, model)
    return guide_versions.version_submit(version=version, actor=administrator)


# -- the rules ----------------------------------------------------------------------------------


def test_every_reference_item_and_bundle_has_a_published_version_1(client):
    assert not ServiceItem.objects.filter(guide_version__isnull=True).exists()
    assert not Bundle.objects.filter(guide_version__isnull=True).exists()
    item = ServiceItem.objects.get(code=ITEM)
    assert GuideVersion.objects.get(item=item, number=1).state == GuideVersion.State.PUBLISHED
    page = guide_page(client)
    assert 'data-testid="guide-version" data-version="1"' in page
    assert f'data-published="{timezone.localtime(item.guide_published_at):%Y-%m-%d}"' in page
    bundle_page = guide_page(client, "B10", "bundles")
    assert 'data-testid="guide-version" data-version="1"' in bundle_page


def test_rule_an_unapproved_guide_version_is_never_public(client):
    published_fee = ServiceItem.objects.get(code=ITEM).fee
    version = submitted_fee(ITEM, "工本费20元", model=ServiceItem)

    # Drafted and submitted: the live row and the public guide still say what was approved.
    assert ServiceItem.objects.get(code=ITEM).fee == published_fee
    assert "工本费20元" not in guide_page(client)

    guide_versions.version_return(version=version, actor=legal_reviewer(), comments="缺少依据")
    assert ServiceItem.objects.get(code=ITEM).fee == published_fee
    page = guide_page(client)
    assert "工本费20元" not in page
    assert 'data-version="1"' in page

    again = submitted_fee(ITEM, "工本费20元")
    published = guide_versions.version_approve(version=again, actor=legal_reviewer())
    assert published.number == 2
    page = guide_page(client)
    assert "工本费20元" in page
    assert 'data-testid="guide-version" data-version="2"' in page
    # Every version is kept: 1 and 2 published, the returned one with its comments.
    states = dict(
        GuideVersion.objects.filter(item__code=ITEM).values_list("pk", "state").order_by("pk")
    )
    assert states[version.pk] == GuideVersion.State.RETURNED
    assert GuideVersion.objects.get(pk=version.pk).comments == "缺少依据"
    assert set(
        GuideVersion.objects.filter(item__code=ITEM, state="published").values_list(
            "number", flat=True
        )
    ) == {1, 2}


def test_rule_a_case_keeps_the_guide_version_it_was_filed_under(client):
    filed = case_of(single_item_submitted(ITEM))
    assert filed.guide_version == 1

    guide_versions.version_approve(version=submitted_fee(ITEM, "工本费5元"), actor=legal_reviewer())

    filed.refresh_from_db()
    assert filed.guide_version == 1
    assert case_of(single_item_submitted(ITEM)).guide_version == 2

    reviewer = reviewer_of(filed.unit.code)
    client.force_login(reviewer)
    page = client.get(f"/staff/cases/{filed.pk}/").content.decode()
    assert 'data-testid="case-guide-version" data-version="1"' in page


def test_rule_a_bundle_application_keeps_the_bundle_guide_version_it_was_filed_under(client):
    application = submitted("B10")
    assert application.guide_version == 1

    version = submitted_fee("B10", "工本费8元", model=Bundle)
    guide_versions.version_approve(version=version, actor=legal_reviewer())

    application.refresh_from_db()
    assert application.guide_version == 1
    assert submitted("B10").guide_version == 2
    case = case_of(application, application.cases.first().item.code)
    client.force_login(reviewer_of(case.unit.code))
    page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert 'data-testid="application-guide-version" data-version="1"' in page


def test_rule_nobody_approves_their_own_change():
    reviewer = legal_reviewer()
    administrator = guide_administrator()
    version = propose_fee(ITEM, "工本费1元", reviewer)
    guide_versions.version_submit(version=version, actor=administrator)
    with pytest.raises(ValidationError):
        guide_versions.version_approve(version=version, actor=reviewer)
    assert GuideVersion.objects.get(pk=version.pk).state == GuideVersion.State.SUBMITTED


def test_rule_only_the_legal_review_unit_decides_and_only_administrators_submit():
    version = submitted_fee(ITEM, "工本费3元")
    with pytest.raises(PermissionDenied):
        guide_versions.version_approve(version=version, actor=reviewer_of("SBZX"))
    with pytest.raises(PermissionDenied):
        guide_versions.version_submit(
            version=propose_fee("B10", "x", None, Bundle), actor=legal_reviewer()
        )


def test_rule_a_returned_version_needs_comments_and_a_decided_one_is_never_decided_again():
    version = submitted_fee(ITEM, "工本费4元")
    reviewer = legal_reviewer()
    with pytest.raises(ValidationError):
        guide_versions.version_return(version=version, actor=reviewer, comments="  ")
    guide_versions.version_approve(version=version, actor=reviewer)
    with pytest.raises(ValidationError):
        guide_versions.version_return(version=version, actor=reviewer, comments="晚了")
    assert GuideVersion.objects.get(pk=version.pk).state == GuideVersion.State.PUBLISHED


def test_rule_a_change_proposed_against_an_older_version_is_not_published():
    administrator = guide_administrator()
    stale = propose_fee(ITEM, "工本费6元", administrator)
    guide_versions.version_submit(version=stale, actor=administrator)
    newer = propose_fee(ITEM, "工本费7元", administrator)
    guide_versions.version_submit(version=newer, actor=administrator)
    reviewer = legal_reviewer()
    guide_versions.version_approve(version=newer, actor=reviewer)
    with pytest.raises(ValidationError):
        guide_versions.version_approve(version=stale, actor=reviewer)
    assert ServiceItem.objects.get(code=ITEM).fee == "工本费7元"


def test_rule_a_guide_version_belongs_to_an_item_or_a_bundle_not_both():
    item, bundle = ServiceItem.objects.get(code=ITEM), Bundle.objects.get(code="B10")
    with pytest.raises(IntegrityError), transaction.atomic():
        GuideVersion.objects.create(item=item, bundle=bundle)
    with pytest.raises(IntegrityError), transaction.atomic():
        GuideVersion.objects.create()


def test_approval_publishes_the_materials_and_limits_of_the_version(client):
    item = ServiceItem.objects.get(code=ITEM)
    before = {item.pk: guide_versions.snapshot_of(item)}
    extra = Material.objects.filter(cancelled=False).exclude(itemmaterial__item=item).first()
    ItemMaterial.objects.create(item=item, material=extra, order=99, note="新增")
    ServiceItem.objects.filter(pk=item.pk).update(legal_basis="新的依据")
    guide_versions.hold_for_review(ServiceItem, before)
    assert not ItemMaterial.objects.filter(item=item, material=extra).exists()
    assert extra.name_zh not in guide_page(client)

    publish_drafts()

    assert ItemMaterial.objects.get(item=item, material=extra).note == "新增"
    page = guide_page(client)
    assert extra.name_zh in page and "新的依据" in page


# -- the workbook -------------------------------------------------------------------------------


def test_rule_the_workbook_creates_drafts_and_publishes_nothing(client, tmp_path):
    path = tmp_path / "catalog.xlsx"
    catalog_export(path)

    def change(book):
        items = book["事项"]
        set_cell(items, find_row(items, "事项编码", ITEM), "收费", "工本费30元")
        template = [c.value for c in items[2]]
        items.append(template)
        set_cell(items, items.max_row, "事项编码", "NEW-ITEM")
        set_cell(items, items.max_row, "已发布", "是")

    edit(path, change)
    summary = catalog_import(path, proposed_by=guide_administrator())

    assert summary.counts["事项"].drafts == 2
    assert "工本费30元" not in guide_page(client)
    assert client.get("/guide/items/NEW-ITEM/").status_code == 404  # new: not public yet
    assert GuideVersion.objects.filter(state="draft", item__code="NEW-ITEM").exists()

    publish_drafts()
    assert "工本费30元" in guide_page(client)
    assert 'data-version="1"' in guide_page(client, "NEW-ITEM")


# -- the Django admin ---------------------------------------------------------------------------


def _form_data(form, data: dict) -> None:
    for bound in form:
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        elif value is not None:
            data[bound.html_name] = value


def admin_change_data(response) -> dict:
    """What the admin's change form posts back when nothing is touched."""
    data: dict = {}
    _form_data(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        for form in formset.forms:
            _form_data(form, data)
    return data


def test_rule_saving_an_item_in_the_admin_proposes_a_draft(client):
    administrator = guide_administrator()
    client.force_login(administrator)
    item = ServiceItem.objects.get(code=ITEM)
    url = f"/admin/catalog/serviceitem/{item.pk}/change/"
    data = admin_change_data(client.get(url))
    data["fee"] = "工本费40元"

    response = client.post(url, data)

    assert response.status_code == 302
    assert ServiceItem.objects.get(pk=item.pk).fee == item.fee
    version = GuideVersion.objects.get(item=item, state=GuideVersion.State.DRAFT)
    assert version.snapshot["fields"]["fee"] == "工本费40元"
    assert version.proposed_by == administrator


# -- the staff screens --------------------------------------------------------------------------


def test_the_legal_reviewer_sees_the_change_and_approves_it_on_the_desk(client):
    version = submitted_fee(ITEM, "工本费50元")
    client.force_login(legal_reviewer())

    queue = client.get("/staff/guides/").content.decode()
    assert f'data-testid="guide-version-row" data-version="{version.pk}"' in queue
    page = client.get(f"/staff/guides/{version.pk}/").content.decode()
    assert 'data-testid="guide-change" data-field="fee"' in page
    assert 'data-field="legal_basis"' not in page  # unchanged fields are not listed as changes
    assert "工本费50元" in page
    assert 'data-testid="guide-approve-form"' in page

    client.post(f"/staff/guides/{version.pk}/approve/", {"comments": ""})

    assert GuideVersion.objects.get(pk=version.pk).number == 2
    assert "工本费50元" in guide_page(client)


def test_the_legal_reviewer_returns_a_change_with_comments_on_the_desk(client):
    version = submitted_fee("B10", "工本费60元", model=Bundle)
    client.force_login(legal_reviewer())

    client.post(f"/staff/guides/{version.pk}/return/", {"comments": ""})  # refused: no comments
    assert GuideVersion.objects.get(pk=version.pk).state == GuideVersion.State.SUBMITTED
    client.post(f"/staff/guides/{version.pk}/return/", {"comments": "收费依据不明"})

    returned = GuideVersion.objects.get(pk=version.pk)
    assert (returned.state, returned.comments) == (GuideVersion.State.RETURNED, "收费依据不明")
    assert "工本费60元" not in guide_page(client, "B10", "bundles")
    page = client.get(f"/staff/guides/{version.pk}/").content.decode()
    assert 'data-testid="guide-review-comments"' in page
    assert 'data-testid="guide-approve-form"' not in page


def test_the_administrator_submits_a_draft_on_the_desk(client):
    administrator = guide_administrator()
    version = propose_fee(ITEM, "工本费70元", administrator)
    client.force_login(administrator)
    page = client.get(f"/staff/guides/{version.pk}/").content.decode()
    assert 'data-testid="guide-submit-form"' in page
    assert 'data-testid="guide-approve-form"' not in page

    client.post(f"/staff/guides/{version.pk}/submit/")

    assert GuideVersion.objects.get(pk=version.pk).state == GuideVersion.State.SUBMITTED


def test_a_question_the_published_bundle_guide_still_uses_cannot_go_before_review(tmp_path):
    link = BundleItem.objects.filter(condition__isnull=False).select_related("bundle", "condition")
    link = link.order_by("pk").first()
    bundle, question = link.bundle, link.condition
    path = tmp_path / "catalog.xlsx"
    catalog_export(path)

    def drop_question(book):
        questions = book["情形问题"]
        for row in reversed(book_rows(questions, "问题编码", question.code)):
            if questions.cell(row, 1).value == bundle.code:
                questions.delete_rows(row)
        items = book["附件1 打包一件事清单"]
        for row in reversed(book_rows(items, "纳入条件问题编码", question.code)):
            if items.cell(row, 1).value == bundle.code:
                items.delete_rows(row)

    edit(path, drop_question)
    with pytest.raises(CatalogImportError) as refused:
        catalog_import(path)

    assert {p.sheet for p in refused.value.problems} == {"一件事"}
    assert BundleQuestion.objects.filter(pk=question.pk).exists()
    assert not GuideVersion.objects.filter(state="draft").exists()


def book_rows(sheet, column: str, value) -> list[int]:
    col = header_index(sheet)[column]
    return [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, col).value == value]
