"""The open API does what the pages do, through the same services: the catalog as the guides
show it, tokens made from a session, an applicant's own applications only, staff actions that
change the case and write its event, intake at the clerk's own windows, the dashboard's
figures."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from acceptance.page_cache import dashboard_cached
from acceptance.selectors.common import Period
from kuaiban.accounts.api_tokens import token_issue
from kuaiban.accounts.models import ApiToken
from kuaiban.cases.models import ApplicationState, CaseEvent, CaseState, EventAction
from kuaiban.catalog.models import District
from tests.builders import (
    accepted,
    case_of,
    clerk_of,
    reviewer_of,
    single_item_submitted,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user)[1]}"}


def post(client, path, body=None, **headers):
    return client.post(path, body or {}, content_type="application/json", **headers)


# -- catalog -----------------------------------------------------------------------------------


def test_a_bundle_s_guide_lists_its_items_by_stage_and_its_materials_once(client):
    body = client.get("/api/v1/catalog/bundles/B03/").json()
    assert body["bundle"]["code"] == "B03"
    items = [entry["item"]["code"] for entry in body["items"]]
    assert "EX-002" in items and len(items) == len(set(items))
    materials = [entry["material"]["code"] for entry in body["materials"]]
    assert len(materials) == len(set(materials))
    assert client.get("/api/v1/catalog/bundles/NOPE/").status_code == 404


def test_an_item_s_limits_are_the_catalog_s(client):
    """Rule SPEEDUP-HALF: the committed limit published is at most half the statutory one."""
    items = client.get("/api/v1/catalog/items/?page_size=200").json()["results"]
    for item in items:
        if item["statutory_limit"] and not item["statutory_mode"] and item["kind"] != "instant":
            assert 2 * item["committed_limit"] <= item["statutory_limit"], item["code"]
    assert client.get("/api/v1/catalog/halls/").json()["count"] >= 1


# -- tokens ------------------------------------------------------------------------------------


def test_a_token_is_made_from_a_session_works_and_is_revoked(client):
    citizen = UserFactory(citizen=True)
    client.force_login(citizen)
    made = post(client, "/api/v1/tokens/", {"name": "my phone"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("kbp_") and not ApiToken.objects.filter(key_hash=token).exists()
    client.logout()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/applications/", **auth).status_code == 200
    assert client.delete("/api/v1/tokens/current/", **auth).status_code == 204
    assert client.get("/api/v1/applications/", **auth).status_code == 401


def test_an_expired_token_is_refused_and_a_staff_token_lasts_a_working_day(client):
    citizen, clerk = UserFactory(citizen=True), clerk_of("LABOUR")
    citizen_row, citizen_token = token_issue(user=citizen)
    clerk_row, _ = token_issue(user=clerk)
    assert clerk_row.expires_at - clerk_row.created_at == timedelta(hours=8)
    assert citizen_row.expires_at - citizen_row.created_at == timedelta(days=30)
    with time_machine.travel(citizen_row.expires_at + timedelta(seconds=1)):
        response = client.get("/api/v1/applications/", HTTP_AUTHORIZATION=f"Bearer {citizen_token}")
    assert response.status_code == 401
    assert (
        client.get("/api/v1/applications/", HTTP_AUTHORIZATION="Bearer kbp_forged").status_code
        == 401
    )


# -- the applicant's own applications ----------------------------------------------------------


def test_an_applicant_sees_their_own_application_and_nobody_else_s(client):
    owner = UserFactory(citizen=True)
    application = single_item_submitted("LR-002", owner)
    mine = client.get("/api/v1/applications/", **bearer(owner)).json()["results"]
    assert [row["reference"] for row in mine] == [application.reference]
    detail = client.get(f"/api/v1/applications/{application.reference}/", **bearer(owner)).json()
    assert detail["state"] == ApplicationState.SUBMITTED
    assert [case["item"] for case in detail["cases"]] == ["LR-002"]
    assert detail["documents"] == []  # nothing released before the results go out together
    other = UserFactory(citizen=True)
    path = f"/api/v1/applications/{application.reference}/"
    assert client.get(path, **bearer(other)).status_code == 404
    assert client.get(path, **bearer(clerk_of("LABOUR"))).status_code == 404


# -- staff -------------------------------------------------------------------------------------


@pytest.fixture
def accepted_case():
    clerk = clerk_of("LABOUR")
    return case_of(accepted(single_item_submitted("LR-002"), clerk))


def test_a_reviewer_works_a_case_over_the_api_as_on_the_desk(client, accepted_case):
    reviewer = reviewer_of(accepted_case.unit.code)
    auth = bearer(reviewer)
    queue = client.get("/api/v1/cases/", **auth).json()["results"]
    assert [row["id"] for row in queue] == [accepted_case.pk]
    assert "*" in queue[0]["applicant"]  # masked
    path = f"/api/v1/cases/{accepted_case.pk}/"
    assert post(client, path + "start-review/", **auth).json()["state"] == CaseState.IN_REVIEW
    refused = post(client, path + "deny/", {"reason": "材料不全"}, **auth)
    assert refused.status_code == 400 and "legal_basis" in refused.json()
    approved = post(client, path + "approve/", **auth).json()
    assert approved["state"] in (CaseState.APPROVED, CaseState.CONCLUDED)
    events = CaseEvent.objects.filter(item_case=accepted_case).values_list("action", "actor")
    assert (EventAction.APPROVE, reviewer.pk) in list(events)
    # a decided case cannot be approved again: the state machine refuses (409)
    assert post(client, path + "approve/", **auth).status_code == 409


def test_another_unit_s_reviewer_does_not_find_the_case(client, accepted_case):
    other = reviewer_of("SBZX")
    path = f"/api/v1/cases/{accepted_case.pk}/"
    assert client.get(path, **bearer(other)).status_code == 404
    assert post(client, path + "approve/", **bearer(other)).status_code == 404
    accepted_case.refresh_from_db()
    assert accepted_case.state == CaseState.ACCEPTED


def test_a_department_request_names_an_external_department(client, accepted_case):
    auth = bearer(reviewer_of(accepted_case.unit.code))
    path = f"/api/v1/cases/{accepted_case.pk}/department-request/"
    internal = post(client, path, {"department": "SBZX", "question": "参保记录?"}, **auth)
    assert internal.status_code == 400
    sent = post(client, path, {"department": "EXT-YB", "question": "医保参保记录?"}, **auth)
    assert sent.status_code == 200
    assert sent.json()["department_requests"][0]["department"] == "EXT-YB"


def test_a_clerk_accepts_at_their_own_window_only(client):
    application = single_item_submitted("LR-002")
    own, other = clerk_of("LABOUR"), clerk_of("SOCIAL")
    queue = client.get("/api/v1/intake/", **bearer(own)).json()["results"]
    assert application.reference in [row["reference"] for row in queue]
    path = f"/api/v1/intake/{application.reference}/accept/"
    assert post(client, path, **bearer(other)).status_code == 404
    assert post(client, path, **bearer(own)).json()["state"] == ApplicationState.ACCEPTED
    returned = post(
        client,
        f"/api/v1/intake/{application.reference}/return/",
        {"materials": ["M-NOPE"]},
        **bearer(own),
    )
    assert returned.status_code == 400  # no such material


# -- the programme's figures ------------------------------------------------------------------


def test_the_figures_are_the_dashboard_s(client, accepted_case):
    supervisor = UserFactory(supervisor=True)
    today = timezone.localdate()
    query = f"start={today - timedelta(days=6)}&end={today}&unit={accepted_case.unit.code}"
    body = client.get(f"/api/v1/metrics/?{query}", **bearer(supervisor)).json()
    board = dashboard_cached(
        {"unit": accepted_case.unit.pk}, Period(today - timedelta(days=6), today)
    )
    assert {f["key"]: f["value"] for f in body["figures"]} == {
        f.key: f.value for f in board.figures if f.key in {x["key"] for x in body["figures"]}
    }
    assert client.get("/api/v1/metrics/?unit=NOPE", **bearer(supervisor)).status_code == 400
    backwards = f"/api/v1/metrics/?start={today}&end={today - timedelta(days=1)}"
    assert client.get(backwards, **bearer(supervisor)).status_code == 400


def test_a_district_supervisor_sees_their_district_only(client):
    district = District.objects.first()
    supervisor = UserFactory(supervisor=True, district=district)
    other = District.objects.exclude(pk=district.pk).first()
    # asking for another district changes nothing: the user's own is forced, as on the page
    body = client.get(f"/api/v1/metrics/?district={other.code}", **bearer(supervisor)).json()
    period = Period(date.fromisoformat(body["start"]), date.fromisoformat(body["end"]))
    board = dashboard_cached({"district": district.pk}, period)
    assert [f["value"] for f in body["figures"]] == [
        f.value for f in board.figures if f.key in {x["key"] for x in body["figures"]}
    ]
    assert client.get("/api/v1/metrics/", **bearer(reviewer_of("SBZX"))).status_code == 404
