"""The staff screens: one-window intake for clerks, the back office for reviewers."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bundles.services import corrections, intake, materials, submission
from kuaiban.cases.clocks import clock_colour
from kuaiban.cases.models import (
    Application,
    CaseEvent,
    CasePause,
    ExtensionRequest,
    ItemCase,
    ReturnNotice,
)
from kuaiban.catalog.models import Bundle, District, Material, ServiceItem, Unit
from tests.builders import (
    case_of,
    clerk_of,
    ready_application,
    reviewer_of,
    single_item_submitted,
    submit,
    submitted,
    upload,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- helpers -----------------------------------------------------------------------------------


def error_messages(response):
    return [m for m in get_messages(response.wsgi_request) if m.level == message_levels.ERROR]


@pytest.fixture
def applicant():
    return UserFactory(citizen=True)


@pytest.fixture
def bundle_clerk():
    return clerk_of("BUNDLE")


# -- access ------------------------------------------------------------------------------------


def test_staff_screens_are_404_for_the_wrong_role_and_ask_anonymous_users_to_log_in(client):
    assert client.get("/staff/intake/").status_code == 302
    for user, url in [
        (UserFactory(citizen=True), "/staff/intake/"),
        (UserFactory(citizen=True), "/staff/cases/"),
        (reviewer_of("SBZX"), "/staff/intake/"),
        (clerk_of("BUNDLE"), "/staff/cases/"),
        (reviewer_of("SBZX"), "/staff/extensions/"),  # not the unit head
    ]:
        client.force_login(user)
        assert client.get(url).status_code == 404, (user.role, url)


def test_the_nav_shows_the_workbench_to_clerks_and_reviewers_only(client, bundle_clerk):
    for user, target in [(bundle_clerk, "/staff/intake/"), (reviewer_of("SBZX"), "/staff/cases/")]:
        client.force_login(user)
        page = client.get("/").content.decode()
        assert 'data-testid="nav-workbench"' in page and f'href="{target}"' in page
    client.force_login(UserFactory(citizen=True))
    assert 'data-testid="nav-workbench"' not in client.get("/").content.decode()


# -- intake --------------------------------------------------------------------------------------


def test_the_clerks_queue_lists_only_applications_of_their_windows(client, applicant, bundle_clerk):
    bundle_application = submitted("B10", applicant)  # bundle window BUNDLE
    single = single_item_submitted("SI-016", UserFactory(citizen=True))  # item window SOCIAL
    social_clerk = clerk_of("SOCIAL")  # staffed: the 一窗通办 clerk does not stand in for it
    client.force_login(bundle_clerk)
    page = client.get("/staff/intake/").content.decode()
    assert f'data-reference="{bundle_application.reference}"' in page
    assert f'data-reference="{single.reference}"' not in page

    client.force_login(social_clerk)
    page = client.get("/staff/intake/").content.decode()
    assert f'data-reference="{single.reference}"' in page
    assert f'data-reference="{bundle_application.reference}"' not in page


def test_a_clerk_of_another_window_gets_404_and_cannot_accept(client, applicant):
    application = submitted(user=applicant)
    client.force_login(clerk_of("SOCIAL", "EMPLOY"))
    assert client.get(f"/staff/intake/{application.reference}/").status_code == 404
    response = client.post(f"/staff/intake/{application.reference}/accept/")
    assert response.status_code == 404
    application.refresh_from_db()
    assert application.state == "submitted"
    assert set(application.cases.values_list("state", flat=True)) == {"submitted"}
    assert not CaseEvent.objects.filter(application=application, action="accept").exists()


def test_rule_clerks_do_not_see_an_online_draft_nor_its_files_until_it_is_submitted(
    client, applicant, bundle_clerk
):
    """A draft is the applicant's alone: its intake page and its uploads are 404 for the clerks
    of its own window, the queue does not list it; once submitted, both open."""
    draft = ready_application(applicant)
    file_id = draft.materials.exclude(file=None).values_list("file_id", flat=True).first()
    assert file_id is not None
    client.force_login(bundle_clerk)
    assert client.get(f"/staff/intake/{draft.reference}/").status_code == 404
    assert client.get(f"/files/{file_id}/").status_code == 404
    assert (
        f'data-reference="{draft.reference}"' not in client.get("/staff/intake/").content.decode()
    )
    assert (
        client.post(f"/staff/intake/{draft.reference}/visit/", {"purpose": "x"}).status_code == 404
    )

    submission.application_submit(application=draft, actor=applicant)
    assert client.get(f"/staff/intake/{draft.reference}/").status_code == 200
    assert client.get(f"/files/{file_id}/").status_code == 200


def test_the_intake_page_shows_masked_values_materials_and_the_three_actions(
    client, applicant, bundle_clerk
):
    application = submitted(user=applicant)
    client.force_login(bundle_clerk)
    response = client.get(f"/staff/intake/{application.reference}/")
    assert response.status_code == 200
    page = response.content.decode()
    for testid in ("accept-form", "return-form", "refuse-form", "visit-form", "materials"):
        assert f'data-testid="{testid}"' in page
    # personal numbers never appear in full
    for value in (application.form_data or {}).values():
        if isinstance(value, str) and len(value) >= 11 and value.isdigit():
            assert value not in page
    assert applicant.resident_id not in page
    assert applicant.masked_resident_id in page
    uploaded = application.materials.filter(provision="upload").first()
    assert f"/files/{uploaded.file_id}/" in page
    assert 'data-testid="cases-stage-1"' in page


def test_accept_from_the_page_starts_the_clocks_and_the_applicant_sees_accepted(
    client, applicant, bundle_clerk
):
    application = submitted(user=applicant)
    client.force_login(bundle_clerk)
    response = client.post(f"/staff/intake/{application.reference}/accept/")
    assert response.status_code == 302
    assert response.url == f"/staff/intake/{application.reference}/"
    application.refresh_from_db()
    assert application.state == "accepted"
    cases = list(application.cases.all())
    assert cases and all(c.state == "accepted" for c in cases)
    assert all(c.committed_due_at and c.accepted_at for c in cases)

    client.force_login(applicant)
    page = client.get(f"/applications/{application.reference}/").content.decode()
    assert 'data-testid="application-state">已受理<' in page


def test_a_second_accept_tells_the_clerk_someone_else_already_acted(
    client, applicant, bundle_clerk
):
    application = submitted(user=applicant)
    client.force_login(bundle_clerk)
    client.post(f"/staff/intake/{application.reference}/accept/")
    other = clerk_of("BUNDLE")
    client.force_login(other)
    response = client.post(f"/staff/intake/{application.reference}/accept/")
    assert response.status_code == 302
    assert len(error_messages(response)) == 1
    assert CaseEvent.objects.filter(application=application, action="accept").count() == 1 + (
        application.cases.count()
    )
    assert not CaseEvent.objects.filter(application=application, actor=other).exists()


def test_accept_can_conclude_instant_items_at_the_window(client, applicant, bundle_clerk):
    application = submitted(user=applicant)
    client.force_login(bundle_clerk)
    client.post(f"/staff/intake/{application.reference}/accept/", {"conclude_instant": "on"})
    states = {c.item.code: (c.item.kind, c.state) for c in application.cases.select_related("item")}
    assert all(state == "approved" for kind, state in states.values() if kind == "instant")
    assert states["SI-016"] == ("time_limited", "accepted")
    application.refresh_from_db()
    assert application.state == "accepted"


def test_return_with_the_complete_list_shows_it_on_the_applicants_status_page(
    client, applicant, bundle_clerk
):
    application = submitted(user=applicant)
    uploaded = list(application.materials.filter(provision="upload").select_related("material"))
    client.force_login(bundle_clerk)
    response = client.post(
        f"/staff/intake/{application.reference}/return/",
        {"materials": [row.material_id for row in uploaded], "note": "照片不清晰，请重新上传"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == "returned"
    notice = ReturnNotice.objects.get(application=application)
    assert set(notice.materials.values_list("pk", flat=True)) == {r.material_id for r in uploaded}
    assert set(application.cases.values_list("state", flat=True)) == {"returned"}

    client.force_login(applicant)
    page = client.get(f"/applications/{application.reference}/").content.decode()
    assert 'data-testid="return-notice"' in page
    for row in uploaded:
        assert f'data-material="{row.material.code}"' in page
    assert "照片不清晰，请重新上传" in page


def test_a_second_return_without_a_change_by_the_applicant_is_refused(
    client, applicant, bundle_clerk
):
    application = submitted(user=applicant)
    material_id = application.materials.filter(provision="upload").first().material_id
    client.force_login(bundle_clerk)
    client.post(
        f"/staff/intake/{application.reference}/return/",
        {"materials": [material_id], "note": "请补正"},
    )
    # Nothing changed: the applicant explains why, then resubmits (rule RESUBMIT-CORRECTED).
    corrections.return_answer(
        application=application,
        actor=applicant,
        material=Material.objects.get(pk=material_id),
        explanation="材料无误",
    )
    submission.application_submit(application=application, actor=applicant)
    response = client.post(
        f"/staff/intake/{application.reference}/return/",
        {"materials": [material_id], "note": "再次补正"},
    )
    assert response.status_code == 302
    assert len(error_messages(response)) == 1
    application.refresh_from_db()
    assert application.state == "submitted"
    assert ReturnNotice.objects.filter(application=application).count() == 1
    # the page still offers the decision, with the message shown
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'class="error"' in page and 'data-testid="accept-form"' in page


def test_a_second_return_may_name_a_material_the_applicant_changed(client, applicant, bundle_clerk):
    application = submitted(user=applicant)
    row = application.materials.filter(provision="upload").select_related("material").first()
    client.force_login(bundle_clerk)
    client.post(
        f"/staff/intake/{application.reference}/return/",
        {"materials": [row.material_id], "note": "照片不清晰"},
    )
    application.refresh_from_db()
    materials.material_upload(
        application=application, actor=applicant, material=row.material, upload=upload()
    )
    submission.application_submit(application=application, actor=applicant)
    response = client.post(
        f"/staff/intake/{application.reference}/return/", {"materials": [row.material_id]}
    )
    assert not error_messages(response)
    application.refresh_from_db()
    assert application.state == "returned"
    assert ReturnNotice.objects.filter(application=application).count() == 2


def test_return_needs_a_list_and_refuse_needs_reason_and_legal_basis(
    client, applicant, bundle_clerk
):
    application = submitted(user=applicant)
    client.force_login(bundle_clerk)
    response = client.post(f"/staff/intake/{application.reference}/return/", {"note": " "})
    assert len(error_messages(response)) == 1
    response = client.post(f"/staff/intake/{application.reference}/refuse/", {"reason": "不符合"})
    assert error_messages(response)
    application.refresh_from_db()
    assert application.state == "submitted"
    client.post(
        f"/staff/intake/{application.reference}/refuse/",
        {"reason": "不属于本部门职权范围", "legal_basis": "行政许可法第三十二条"},
    )
    application.refresh_from_db()
    assert application.state == "refused"
    assert set(application.cases.values_list("state", flat=True)) == {"refused"}


def test_a_visit_is_recorded_from_the_intake_page(client, applicant, bundle_clerk):
    application = submitted(user=applicant)
    client.force_login(bundle_clerk)
    client.post(f"/staff/intake/{application.reference}/visit/", {"purpose": "核验纸质原件"})
    application.refresh_from_db()
    assert application.visits == 1


# -- back office -------------------------------------------------------------------------------


@pytest.fixture
def accepted(applicant, bundle_clerk):
    application = submitted("B10", applicant)
    from bundles.services.intake import application_accept

    application_accept(application=application, actor=bundle_clerk)
    return application


def test_an_on_site_check_recorded_on_the_case_page_counts_the_applicants_visit(client, accepted):
    case = case_of(accepted, "SI-016")  # 信息中心
    client.force_login(reviewer_of("XXZX"))
    page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert 'data-testid="on-site-check-form"' in page
    assert 'data-testid="visits" data-target="at_most_once">0' in page
    url = f"/staff/cases/{case.pk}/on-site-check/"
    response = client.post(url, {"on_site-note": ""}, follow=True)
    assert error_messages(response) and Application.objects.get(pk=accepted.pk).visits == 0
    response = client.post(url, {"on_site-note": "核对户口簿原件"}, follow=True)
    assert not error_messages(response)
    assert Application.objects.get(pk=accepted.pk).visits == 1
    assert 'data-testid="visits" data-target="at_most_once">1' in response.content.decode()


def test_a_reviewer_of_another_unit_gets_404_on_a_case(client, accepted):
    case = case_of(accepted, "SI-016")  # 信息中心
    client.force_login(reviewer_of("JYZX"))
    assert client.get(f"/staff/cases/{case.pk}/").status_code == 404
    assert client.post(f"/staff/cases/{case.pk}/approve/").status_code == 404
    assert client.post(f"/staff/cases/{case.pk}/start-review/").status_code == 404
    case.refresh_from_db()
    assert case.state == "accepted"
    page = client.get("/staff/cases/").content.decode()
    assert f'data-case="{case.pk}"' not in page


def test_reviewers_handle_b10_through_the_views_and_the_application_concludes(client, accepted):
    xxzx = reviewer_of("XXZX")
    reviewers = {"SI-025": xxzx, "EX-005": reviewer_of("EXT-BANK"), "SI-026": reviewer_of("SBZX")}
    assert set(accepted.cases.values_list("stage", flat=True)) == {1}
    # the instant items first: approved from their case pages, the application stays open
    for code, reviewer in reviewers.items():
        client.force_login(reviewer)
        case = case_of(accepted, code)
        assert client.get(f"/staff/cases/{case.pk}/").status_code == 200
        assert client.post(f"/staff/cases/{case.pk}/approve/").status_code == 302
        case.refresh_from_db()
        assert case.state == "approved"
    accepted.refresh_from_db()
    assert accepted.state == "accepted"

    # the time-limited card: review, expert review pause and resume, approve
    client.force_login(xxzx)
    case = case_of(accepted, "SI-016")
    url = f"/staff/cases/{case.pk}/"
    page = client.get("/staff/cases/").content.decode()
    assert f'data-case="{case.pk}"' in page

    client.post(url + "start-review/")
    case.refresh_from_db()
    accepted.refresh_from_db()
    assert (case.state, case.reviewer, accepted.state) == ("in_review", xxzx, "in_progress")

    due_before = case.committed_due_at
    client.post(url + "pause/", {"pause-kind": "expert_review", "pause-reason": "专家评审制卡资料"})
    case.refresh_from_db()
    assert case.state == "paused"
    assert CasePause.objects.filter(item_case=case, ended_at__isnull=True, kind="expert_review")
    queue = client.get("/staff/cases/").content.decode()
    assert "clock-paused" in queue
    detail = client.get(url).content.decode()
    assert 'data-testid="resume-form"' in detail and 'data-testid="approve-form"' not in detail

    client.post(url + "resume/")
    case.refresh_from_db()
    assert case.state == "in_review"
    assert case.committed_due_at >= due_before
    assert not CasePause.objects.filter(item_case=case, ended_at__isnull=True).exists()
    assert 'data-testid="deadline-notes"' in client.get(url).content.decode()

    response = client.post(url + "approve/")
    assert response.status_code == 302 and not error_messages(response)
    accepted.refresh_from_db()
    assert accepted.state == "concluded"
    assert set(accepted.cases.values_list("state", flat=True)) == {"concluded"}


def test_a_resume_of_a_case_that_is_not_paused_shows_a_message(client, accepted):
    reviewer = reviewer_of("XXZX")
    case = case_of(accepted, "SI-016")
    client.force_login(reviewer)
    response = client.post(f"/staff/cases/{case.pk}/resume/")
    assert response.status_code == 302
    assert len(error_messages(response)) == 1
    case.refresh_from_db()
    assert case.state == "accepted"


def test_deny_needs_reason_and_basis_and_department_requests_are_tracked(client, accepted):
    reviewer = reviewer_of("XXZX")
    case = case_of(accepted, "SI-016")
    url = f"/staff/cases/{case.pk}/"
    client.force_login(reviewer)
    response = client.post(url + "deny/", {"deny-reason": "资料不符"})
    assert error_messages(response)
    case.refresh_from_db()
    assert case.state == "accepted"

    bank = Unit.objects.get(code="EXT-BANK")
    client.post(
        url + "department-request/",
        {"department-department": bank.pk, "department-question": "请核实账户"},
    )
    case.refresh_from_db()
    assert case.state == "awaiting_department"
    request = case.department_requests.get()
    assert request.due_at is not None
    client.post(url + "department-reply/", {"reply-request": request.pk, "reply-reply": "账户正常"})
    case.refresh_from_db()
    request.refresh_from_db()
    assert case.state == "in_review" and request.reply == "账户正常"

    # an internal unit is no "other department"
    client.post(
        url + "department-request/",
        {"department-department": Unit.objects.get(code="SBZX").pk, "department-question": "x"},
    )
    case.refresh_from_db()
    assert case.state == "in_review"


def test_an_extension_is_requested_by_the_reviewer_and_decided_by_the_unit_head(client):
    enterprise = UserFactory(enterprise=True)
    application = single_item_submitted("LR-002", enterprise)
    client.force_login(clerk_of("LABOUR"))
    client.post(f"/staff/intake/{application.reference}/accept/")
    case = application.cases.get()
    assert case.state == "accepted"
    statutory_before = case.statutory_due_at

    client.force_login(reviewer_of("LDGX"))
    page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert 'data-testid="extension-form"' in page
    client.post(f"/staff/cases/{case.pk}/extension/", {"extension-reason": "需现场核查"})
    extension = ExtensionRequest.objects.get(item_case=case)
    assert extension.status == "requested"

    head = reviewer_of("LDGX", is_unit_head=True)
    client.force_login(head)
    page = client.get("/staff/extensions/").content.decode()
    assert f'data-request="{extension.pk}"' in page
    client.post(f"/staff/extensions/{extension.pk}/decide/", {"decision": "approve"})
    extension.refresh_from_db()
    case.refresh_from_db()
    assert extension.status == "approved" and extension.decided_by == head
    assert case.statutory_due_at > statutory_before
    response = client.post(f"/staff/extensions/{extension.pk}/decide/", {"decision": "reject"})
    assert error_messages(response)
    assert f'data-request="{extension.pk}"' not in client.get("/staff/extensions/").content.decode()

    client.force_login(reviewer_of("SBZX", is_unit_head=True))
    assert client.post(f"/staff/extensions/{extension.pk}/decide/").status_code == 404


def _extension_requested_by(requester):
    """An accepted LR-002 case (劳动关系处) with an extension requested by `requester`."""
    application = single_item_submitted("LR-002", UserFactory(enterprise=True))
    from bundles.services import handling, intake

    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    return handling.extension_request(case=case, actor=requester, reason="需现场核查")


def test_rule_a_unit_head_cannot_decide_their_own_extension_request(client):
    head = reviewer_of("LDGX", head=True)
    extension = _extension_requested_by(head)
    client.force_login(head)
    page = client.get("/staff/extensions/").content.decode()
    assert f'data-request="{extension.pk}"' in page and 'data-testid="own-request"' in page
    response = client.post(f"/staff/extensions/{extension.pk}/decide/", {"decision": "approve"})
    assert any("局行风办" in str(m) for m in error_messages(response))
    extension.refresh_from_db()
    assert extension.status == "requested" and extension.decided_by is None
    assert not CaseEvent.objects.filter(action="extension_decided").exists()

    other_head = reviewer_of("LDGX", head=True)
    client.force_login(other_head)
    client.post(f"/staff/extensions/{extension.pk}/decide/", {"decision": "approve"})
    extension.refresh_from_db()
    assert extension.status == "approved" and extension.decided_by == other_head


def test_rule_the_city_supervision_office_decides_any_units_extension_a_district_one_cannot(
    client,
):
    extension = _extension_requested_by(reviewer_of("LDGX", head=True))
    district = UserFactory(supervisor=True, district=District.objects.first())
    client.force_login(district)
    assert client.get("/staff/extensions/").status_code == 404
    assert client.post(f"/staff/extensions/{extension.pk}/decide/").status_code == 404

    city = UserFactory(supervisor=True)
    client.force_login(city)
    assert 'data-testid="nav-extensions"' in client.get("/").content.decode()
    page = client.get("/staff/extensions/").content.decode()
    assert f'data-request="{extension.pk}"' in page
    client.post(
        f"/staff/extensions/{extension.pk}/decide/", {"decision": "reject", "note": "理由不足"}
    )
    extension.refresh_from_db()
    assert extension.status == "rejected" and extension.decided_by == city


# -- clock colours -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)


def clock(state="in_review", *, due=None, w50=None, w75=None):
    """A case's clock fields, `due`/`w50`/`w75` in hours from NOW."""

    def at(hours):
        return None if hours is None else NOW + timedelta(hours=hours)

    return SimpleNamespace(
        state=state, committed_due_at=at(due), warn_50_at=at(w50), warn_75_at=at(w75)
    )


@pytest.mark.parametrize(
    ("case", "colour"),
    [
        (clock(due=10, w50=2, w75=6), "fine"),
        (clock("accepted", due=10, w50=0, w75=6), "past50"),  # exactly at 50%
        (clock(due=10, w50=-1, w75=6), "past50"),
        (clock(due=10, w50=-5, w75=0), "past75"),
        (clock("awaiting_department", due=0, w50=-5, w75=-2), "overdue"),
        (clock(due=-1, w50=-9, w75=-5), "overdue"),
        (clock("paused", due=-1, w50=-9, w75=-5), "paused"),
        (clock("paused", due=10, w50=2, w75=6), "paused"),
        (clock(), "fine"),  # no limit at all
    ],
)
def test_clock_colour(case, colour):
    assert clock_colour(case, NOW) == colour


def test_the_case_queue_shows_each_colour_as_class_and_label_nearest_due_first(client):
    reviewer = reviewer_of("SBZX")
    now = timezone.now()

    def hours(h):
        return now + timedelta(hours=h)

    rows = {
        "overdue": dict(state="in_review", committed_due_at=hours(-1)),
        "past75": dict(state="in_review", committed_due_at=hours(1), warn_75_at=hours(-1)),
        "past50": dict(state="accepted", committed_due_at=hours(2), warn_50_at=hours(-1)),
        "fine": dict(state="accepted", committed_due_at=hours(20), warn_50_at=hours(10)),
        "paused": dict(state="paused", committed_due_at=hours(30), paused_since=hours(-2)),
    }
    cases = make_cases(reviewer.unit, list(rows.values()))
    client.force_login(reviewer)
    page = client.get("/staff/cases/").content.decode()
    positions = []
    for (colour, _), case in zip(rows.items(), cases, strict=True):
        marker = f'data-case="{case.pk}" data-clock="{colour}"'
        assert marker in page
        assert f"clock-{colour}" in page
        positions.append(page.index(marker))
    assert positions == sorted(positions)


# -- constant queries ----------------------------------------------------------------------------


def make_submitted(applicant, count, start=0):
    bundle = Bundle.objects.get(code="B10")
    single = ServiceItem.objects.filter(window__code="BUNDLE").first()
    now = timezone.now()
    Application.objects.bulk_create(
        Application(
            reference=f"KBQ{start + i:08d}",
            applicant=applicant,
            bundle=bundle if i % 2 == 0 else None,
            item=None if i % 2 == 0 else single,
            state="submitted",
            submitted_at=now - timedelta(minutes=start + i),
        )
        for i in range(count)
    )


def make_cases(unit, clocks, start=0):
    applicant = UserFactory(citizen=True)
    item = ServiceItem.objects.filter(unit=unit).first()
    bundle = Bundle.objects.get(code="B10")
    applications = Application.objects.bulk_create(
        Application(
            reference=f"KBC{start + i:08d}", applicant=applicant, bundle=bundle, state="in_progress"
        )
        for i in range(len(clocks))
    )
    return ItemCase.objects.bulk_create(
        ItemCase(application=a, item=item, unit=unit, stage=1 + i % 2, **fields)
        for i, (a, fields) in enumerate(zip(applications, clocks, strict=True))
    )


def queries_for(client, url):
    client.get(url)  # warm up the session and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_intake_queue_runs_the_same_queries_for_1_and_50_applications(client, bundle_clerk):
    applicant = UserFactory(citizen=True)
    client.force_login(bundle_clerk)
    make_submitted(applicant, 1)
    one, page = queries_for(client, "/staff/intake/")
    assert page.count('data-testid="intake-row"') == 1
    make_submitted(applicant, 49, start=1)
    fifty, page = queries_for(client, "/staff/intake/")
    assert page.count('data-testid="intake-row"') == 50
    assert one == fifty


def test_the_case_queue_runs_the_same_queries_for_1_and_50_cases(client):
    reviewer = reviewer_of("SBZX")
    now = timezone.now()
    client.force_login(reviewer)

    def clocks(count):
        return [
            dict(
                state=("accepted", "in_review", "paused", "awaiting_department")[i % 4],
                committed_due_at=now + timedelta(hours=i - 25) if i % 5 else None,
                warn_50_at=now + timedelta(hours=i - 30),
                paused_since=now if i % 4 == 2 else None,
            )
            for i in range(count)
        ]

    make_cases(reviewer.unit, clocks(1))
    one, page = queries_for(client, "/staff/cases/")
    assert page.count('data-testid="case-row"') == 1
    make_cases(reviewer.unit, clocks(49), start=1)
    fifty, page = queries_for(client, "/staff/cases/")
    assert page.count('data-testid="case-row"') == 50
    assert one == fifty


def test_the_clerk_prints_an_intake_receipt_once_accepted(client):
    """受理回执: after acceptance the clerk prints what was accepted, when and by whom, and each
    item's expected completion; before it there is no receipt."""
    clerk = clerk_of("LABOUR")
    application = single_item_submitted("LR-002", UserFactory(citizen=True))
    client.force_login(clerk)
    receipt = f"/staff/intake/{application.reference}/receipt/"
    assert client.get(receipt).status_code == 404
    client.post(f"/staff/intake/{application.reference}/accept/")
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-testid="receipt-link"' in page
    response = client.get(receipt)
    assert response.status_code == 200
    assert response.context["accepted"].actor == clerk
    assert [row.expected for row in response.context["outlook"].cases] == [
        case_of(application).committed_due_at
    ]


def test_a_resubmitted_application_keeps_its_place_in_the_intake_queue(client):
    """Guided corrections (issue 16 part 3): the applicant who corrected a return does not go
    to the back of the queue; a search finds one application by its reference."""
    clerk = clerk_of("LABOUR")
    first = single_item_submitted("LR-002", UserFactory(citizen=True))
    second = single_item_submitted("LR-002", UserFactory(citizen=True))
    intake.application_return(application=first, actor=clerk, material_ids=[], note="补充说明")
    first.refresh_from_db()
    corrections.return_answer(
        application=first, actor=first.applicant, material=None, explanation="已补充"
    )
    submit(first)
    client.force_login(clerk)
    rows = [a.reference for a in client.get("/staff/intake/").context["applications"]]
    assert rows.index(first.reference) < rows.index(second.reference)
    found = client.get("/staff/intake/", {"q": second.reference}).context["applications"]
    assert [a.reference for a in found] == [second.reference]
