"""Departments as API clients (issue 15 part 2): a department's client works its own item cases
with the staff endpoints and answers the requests sent to it; nothing else exists for it."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from bundles.services import handling
from kuaiban.accounts.models import Role
from kuaiban.cases.models import (
    ApplicationState,
    CaseEvent,
    CaseState,
    DepartmentRequest,
    EventAction,
)
from kuaiban.catalog.models import Unit
from kuaiban.departments.models import DepartmentClient
from kuaiban.departments.services import client_issue, client_revoke, client_rotate
from kuaiban.documents.models import ResultDocument
from tests.builders import approved, login_request, reviewer_of

from .conftest import b03_at_the_department, bearer, open_case

pytestmark = pytest.mark.django_db


def api(credential: str) -> APIClient:
    client = APIClient()
    client.credentials(**bearer(credential))
    return client


def test_a_department_approves_its_item_and_the_bundle_concludes_with_every_result(issue):
    """Rule: the department's service account is a reviewer of its unit, so the staff case
    endpoints (start-review = accept, approve) work for it unchanged; when the other stage-2
    case is approved too, the bundle concludes (统一出件) with a result document per case, and
    the event log names the department as the actor."""
    application = b03_at_the_department()
    case = open_case(application, "EX-002")
    yb = issue("EXT-YB")
    department = api(yb.credential)

    listed = department.get("/api/v1/cases/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [case.pk]
    assert department.post(f"/api/v1/cases/{case.pk}/start-review/").status_code == 200
    answered = department.post(f"/api/v1/cases/{case.pk}/approve/")
    assert answered.status_code == 200
    assert answered.json()["state"] == CaseState.APPROVED

    for other in application.cases.filter(stage=2).exclude(pk=case.pk):
        approved(other, reviewer_of(other.unit.code))
    application.refresh_from_db()
    assert application.state == ApplicationState.CONCLUDED
    assert set(application.cases.values_list("state", flat=True)) == {CaseState.CONCLUDED}
    documents = ResultDocument.objects.filter(application=application)
    assert set(documents.values_list("item_case_id", flat=True)) == set(
        application.cases.values_list("pk", flat=True)
    )
    approval = CaseEvent.objects.get(item_case=case, action=EventAction.APPROVE)
    assert approval.actor_id == yb.client.service_account_id


def test_another_departments_client_finds_neither_the_case_nor_the_request(issue):
    """Rule: another unit's case and a request addressed to another department do not exist
    for a client (404, never 403), for reads and for every action."""
    application = b03_at_the_department()
    case = open_case(application, "EX-002")
    reviewer = reviewer_of(application.cases.get(item__code="SI-004").unit.code)
    si = application.cases.get(item__code="SI-004")
    handling.case_start_review(case=si, actor=reviewer)
    request = handling.department_request_send(
        case=si, actor=reviewer, department=Unit.objects.get(code="EXT-YB"), question="请核实参保"
    )
    other = api(issue("EXT-GJJ").credential)

    assert other.get("/api/v1/cases/").json()["results"] == []
    assert other.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    for action in ("start-review", "approve"):
        assert other.post(f"/api/v1/cases/{case.pk}/{action}/").status_code == 404
    denied = other.post(
        f"/api/v1/cases/{case.pk}/deny/", {"reason": "x", "legal_basis": "y"}, format="json"
    )
    assert denied.status_code == 404
    assert other.get("/api/v1/department/requests/").json()["results"] == []
    answer = other.post(
        f"/api/v1/department/requests/{request.pk}/answer/", {"reply": "x"}, format="json"
    )
    assert answer.status_code == 404
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
    assert DepartmentRequest.objects.get(pk=request.pk).replied_at is None


def test_the_addressed_department_answers_and_the_case_goes_back_to_review(issue):
    """Rule: the department a request was sent to answers it itself, once; the requesting case
    goes back to review exactly as when its reviewer records the reply."""
    application = b03_at_the_department()
    si = application.cases.get(item__code="SI-004")
    reviewer = reviewer_of(si.unit.code)
    handling.case_start_review(case=si, actor=reviewer)
    request = handling.department_request_send(
        case=si, actor=reviewer, department=Unit.objects.get(code="EXT-YB"), question="请核实参保"
    )
    si.refresh_from_db()
    waiting = si.state
    department = api(issue("EXT-YB").credential)

    listed = department.get("/api/v1/department/requests/").json()["results"]
    assert [(r["id"], r["case"]) for r in listed] == [(request.pk, si.pk)]
    path = f"/api/v1/department/requests/{request.pk}/answer/"
    assert department.post(path, {"reply": "已参保"}, format="json").status_code == 200
    si.refresh_from_db()
    assert waiting != CaseState.IN_REVIEW and si.state == CaseState.IN_REVIEW
    assert DepartmentRequest.objects.get(pk=request.pk).reply == "已参保"
    # Answered: no longer open, so a second answer finds nothing.
    assert department.post(path, {"reply": "再答"}, format="json").status_code == 404
    assert department.get("/api/v1/department/requests/").json()["results"] == []


def test_a_revoked_or_rotated_credential_is_refused_with_401(issue):
    """Rule: revoking refuses the client at once (401), and so does its old secret after a
    rotation; a malformed kbd_ credential is 401 too, never another user's."""
    application = b03_at_the_department()
    issued = issue("EXT-YB")
    assert api(issued.credential).get("/api/v1/cases/").status_code == 200
    rotated = client_rotate(client=issued.client)
    assert api(issued.credential).get("/api/v1/cases/").status_code == 401
    assert api(rotated.credential).get("/api/v1/cases/").status_code == 200
    assert client_revoke(client=issued.client)
    case = open_case(application, "EX-002")
    for attempt in (
        api(rotated.credential).get("/api/v1/cases/"),
        api(rotated.credential).post(f"/api/v1/cases/{case.pk}/approve/"),
        api("kbd_nope.nope").get("/api/v1/cases/"),
    ):
        assert attempt.status_code == 401
    assert not DepartmentClient.objects.get(pk=issued.client.pk).service_account.is_active


def test_a_service_account_cannot_log_in_on_the_pages(issue):
    """Rule: a service account has no usable password: the pages' log-in refuses it."""
    account = issue("EXT-YB").client.service_account
    assert not account.has_usable_password()
    assert account.role == Role.REVIEWER and account.unit.code == "EXT-YB"
    for password in ("", "!"):
        assert authenticate(login_request(), username=account.username, password=password) is None


def test_session_users_find_no_department_endpoints(client, issue):
    """Rule: the department endpoints exist only for a department's client: a session (even a
    reviewer of the external unit) gets 404, anonymous 401, the platform's client 404."""
    assert client.get("/api/v1/department/requests/").status_code == 401
    client.force_login(reviewer_of("EXT-YB"))
    assert client.get("/api/v1/department/requests/").status_code == 404
    platform = client_issue(kind=DepartmentClient.Kind.PLATFORM)
    assert platform.client.service_account.role == Role.SUPERVISOR
    assert api(platform.credential).get("/api/v1/department/requests/").status_code == 404
    assert api(platform.credential).get("/api/v1/metrics/").status_code == 200


def test_the_command_issues_lists_and_revokes(capsys):
    """Rule: `department_client issue EXT-YB` prints the credential once; one live client per
    department; `revoke` refuses it."""
    call_command("department_client", "issue", "EXT-YB", "--webhook", "https://yb.example/h")
    out = capsys.readouterr().out
    credential = next(w for w in out.split() if w.startswith("kbd_"))
    client = DepartmentClient.objects.get(unit__code="EXT-YB")
    assert credential.startswith(f"kbd_{client.client_id}.")
    assert credential.split(".", 1)[1] not in client.secret_hash
    assert client.webhook_secret and client.webhook_url == "https://yb.example/h"
    with pytest.raises(CommandError):  # one live client per department
        call_command("department_client", "issue", "EXT-YB")
    call_command("department_client", "list")
    assert client.client_id in capsys.readouterr().out
    call_command("department_client", "revoke", client.client_id)
    client.refresh_from_db()
    assert client.revoked_at is not None
