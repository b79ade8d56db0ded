"""The access matrix: every URL of the portal × every kind of user × their own or someone else's
record, as a table. A URL added without its row fails `test_every_url_has_its_row`.

Outcomes: OK (the page or its redirect), LOGIN (sent to log in), NO (404: a page someone may not
open does not exist for them, never 403), or a status code where a page answers one on purpose.
Each request runs in a savepoint that is rolled back, so a POST by one user changes nothing for
the next."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from bundles.services import handling
from bundles.services.window import window_intake_start
from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.models import Role
from kuaiban.campaigns.evaluations import evaluation_open, finding_close, finding_record
from kuaiban.campaigns.models import Campaign, UnitTask
from kuaiban.campaigns.notices import notice_draft
from kuaiban.campaigns.services import campaign_launch
from kuaiban.cases.models import Application
from kuaiban.catalog import guide_versions
from kuaiban.catalog.models import Bundle, District, ServiceItem
from kuaiban.commitments.models import CheckState, CommitmentBar, CommitmentCheck, RepaymentOrder
from kuaiban.commitments.services import check_attach_evidence, check_conclude
from kuaiban.documents.models import ResultDocument
from kuaiban.precheck.models import PrecheckFinding, PrecheckRule
from kuaiban.proactive.models import Invitation, InvitationRule
from kuaiban.ratings.followups import followups_open_for_overdue
from kuaiban.ratings.links import rating_token
from kuaiban.ratings.models import FollowUp
from reports.models import ExportJob, LeaderReport, ReportSchedule
from reports.schedules import scheduled_reports_issue
from tests.builders import (
    accepted,
    approved,
    case_of,
    clerk_of,
    committed_draft,
    draft,
    legal_reviewer,
    reviewer_of,
    single_item_submitted,
    submit,
    upload,
)
from tests.factories import UserFactory
from tests.oidc_provider import CLIENT_ID as oidc_client_id

pytestmark = pytest.mark.django_db

OK, LOGIN, NO = "ok", "login", "404"
API_LOGIN = "401"  # the API's "log in first": a bearer token (or the portal's session)

ROLES = (
    "anonymous",
    "owner",  # the citizen whose applications these are
    "other_citizen",
    "enterprise",
    "clerk",  # of the applications' intake window
    "other_clerk",
    "reviewer",  # of the unit handling the case
    "other_reviewer",
    "unit_head",  # of that unit
    "supervisor",  # city level (局行风办); owns the export and the saved report
    "district_supervisor",
    "admin",
    "legal_reviewer",  # a reviewer of 政策法规处: reviews the service guides' changes
)
APPLICANTS = {"owner", "other_citizen", "enterprise"}
SUPERVISORS = {"supervisor", "district_supervisor", "admin"}
EVERYONE = set(ROLES) - {"anonymous"}
STAFF = EVERYONE - APPLICANTS
UNIT_REVIEWERS = {"reviewer", "other_reviewer", "unit_head", "legal_reviewer"}


@dataclass
class Row:
    path: Callable[["World"], str]
    allowed: set[str]
    method: str = "get"
    anonymous: str = LOGIN
    data: dict = field(default_factory=dict)
    # Someone logged in but not allowed gets NO, unless named here.
    others: dict[str, str] = field(default_factory=dict)
    json: bool = False  # the open API takes JSON bodies


@dataclass
class World:
    draft: Application
    application: Application  # submitted and accepted
    case_id: int
    file_id: int
    in_person: Application
    export_id: int
    report_id: int
    extension_id: int
    follow_up_id: int
    document: ResultDocument  # the approval of the owner's second LR-002 application, concluded
    check_id: int
    hearing_id: int
    order_id: int
    bar_id: int
    committed_reference: str  # the owner's application whose commitment was found false
    unit_task_id: int  # the reviewer's unit's docking plan in the launched 2020 campaign
    evaluation_id: int  # B07's acceptance evaluation
    finding_id: int  # its finding for the reviewer's unit, rectified with evidence
    notice_id: int  # a circulated notice, drafted
    schedule_id: int  # the supervisor's monthly leaders' report
    issued_report_id: int  # … and the report it issued
    guide_draft_id: int  # a guide change proposed by the admin
    guide_submitted_id: int  # another, submitted for legal review
    invitation_token: str  # a proactive invitation (主动服务) of the owner to B03
    precheck_finding_id: int  # a pre-check finding (智能预审) on the accepted application


# The API's case actions on the world's accepted LR-002 case, with an empty body: those that need
# none succeed for its unit's reviewers; the others are refused for the missing fields.
API_CASE_ACTIONS = {
    "start-review": OK,
    "approve": OK,
    **dict.fromkeys(
        (
            "resume",  # the case is not paused
            "deny",
            "pause",
            "statutory-mode",
            "on-site-check",
            "extension",
            "department-request",
            "department-reply",
        ),
        "400",
    ),
}


def _row(path, allowed, **kwargs) -> Row:
    return Row(path=path if callable(path) else (lambda w, p=path: p), allowed=allowed, **kwargs)


def _draft(suffix: str) -> Callable[[World], str]:
    return lambda w: f"/applications/{w.draft.reference}/{suffix}"


def _intake(suffix: str) -> Callable[[World], str]:
    return lambda w: f"/staff/intake/{w.application.reference}/{suffix}"


def _check(suffix: str) -> Callable[[World], str]:
    return lambda w: f"/staff/commitment-checks/{w.check_id}/{suffix}"


def _guide(suffix: str, draft: bool = False) -> Callable[[World], str]:
    return lambda w: f"/staff/guides/{w.guide_draft_id if draft else w.guide_submitted_id}/{suffix}"


def _export(suffix: str) -> Callable[[World], str]:
    return lambda w: f"/reports/exports/{w.export_id}/{suffix}"


MATRIX: dict[str, Row] = {
    # public pages
    "home": _row("/", EVERYONE, anonymous=OK),
    "health": _row("/health/", EVERYONE, anonymous=OK),
    "landing": _row("/welcome/", EVERYONE),  # where a log-in lands: each role's workbench
    "guide:index": _row("/guide/", EVERYONE, anonymous=OK),
    "guide:bundle": _row("/guide/bundles/B10/", EVERYONE, anonymous=OK),
    "guide:item": _row("/guide/items/LR-002/", EVERYONE, anonymous=OK),
    "login": _row("/accounts/login/", EVERYONE, anonymous=OK),
    "logout": _row("/accounts/logout/", EVERYONE, method="post", anonymous=OK),
    "set_language": _row("/i18n/setlang/", EVERYONE, method="post", anonymous=OK),
    "accounts:register": _row("/accounts/register/", EVERYONE, anonymous=OK),
    "accounts:register_citizen": _row("/accounts/register/citizen/", EVERYONE, anonymous=OK),
    "accounts:register_enterprise": _row("/accounts/register/enterprise/", EVERYONE, anonymous=OK),
    "accounts:register_confirm": _row("/accounts/register/confirm/", EVERYONE, anonymous=OK),
    "accounts:profile": _row("/accounts/profile/", EVERYONE),
    "accounts:verify_again": _row("/accounts/profile/verify/", EVERYONE, method="post"),
    # everyone logged in changes their own password; the reset by SMS is for those logged out
    # (someone logged in is sent to the change page)
    "accounts:password_change": _row("/accounts/password/change/", EVERYONE),
    "accounts:password_reset": _row("/accounts/password/reset/", EVERYONE, anonymous=OK),
    "accounts:password_reset_confirm": _row(
        "/accounts/password/reset/code/", EVERYONE, anonymous=OK
    ),
    # single sign-on (configured for the test provider below): anyone may set off to the
    # platform; a callback without this session's state is refused, back to the login page
    "accounts:sso_login": _row("/accounts/sso/login/", EVERYONE, anonymous=OK),
    "accounts:sso_callback": _row(
        "/accounts/sso/callback/?code=x&state=y",
        set(),
        others=dict.fromkeys(EVERYONE, LOGIN),
    ),
    # the second factor: staff only (verified here, so both pages send them on to the home page)
    "accounts:two_factor": _row("/accounts/two-factor/", STAFF),
    "accounts:two_factor_setup": _row("/accounts/two-factor/setup/", STAFF),
    # the applicant's journey: B10 is a citizen's bundle (an enterprise is told it is not theirs)
    "applications:apply_bundle": _row(
        "/apply/bundles/B10/", {"owner", "other_citizen"}, others={"enterprise": "403"}
    ),
    "applications:apply_item": _row("/apply/items/LR-002/", APPLICANTS),
    "applications:list": _row("/applications/", APPLICANTS),
    "applications:status": _row(lambda w: f"/applications/{w.application.reference}/", {"owner"}),
    "applications:questions": _row(_draft("questions/"), {"owner"}),
    "applications:form": _row(_draft("form/"), {"owner"}),
    "applications:materials": _row(_draft("materials/"), {"owner"}),
    # the table of persons' Excel template: only an application for several persons has one (the
    # owner's B10 draft has none; an enterprise's B01 draft: tests/bundles/test_fitting.py)
    "applications:persons_template": _row(_draft("form/persons.xlsx"), set()),
    "applications:persons_upload": _row(_draft("form/persons/upload/"), set(), method="post"),
    "applications:review": _row(_draft("review/"), {"owner"}),
    # guided corrections: "unchanged, because …" for a returned material (the owner only)
    "applications:return_answer": _row(_draft("returned/answer/"), {"owner"}, method="post"),
    "applications:done": _row(
        lambda w: f"/applications/{w.application.reference}/done/", {"owner"}
    ),
    "applications:withdraw": _row(
        _draft("withdraw/"), {"owner"}, method="post", data={"confirm": "on"}
    ),
    # 免申即享: only the owner objects (their draft was not proposed: told so, back to the page)
    "applications:object": _row(
        _draft("object/"), {"owner"}, method="post", data={"reason": "不要"}
    ),
    # 好差评: the owner from the status page; anyone holding the SMS link (it names one application)
    "applications:rate": _row(
        lambda w: f"/applications/{w.application.reference}/rate/", {"owner"}
    ),
    "applications:rate_rectification": _row(
        lambda w: f"/applications/{w.application.reference}/rate/rectification/{w.follow_up_id}/",
        {"owner"},
        method="post",
    ),
    # a proactive invitation's link: only the person invited
    "applications:invitation": _row(lambda w: f"/invitations/{w.invitation_token}/", {"owner"}),
    "applications:rate_link": _row(
        lambda w: f"/rate/{rating_token(w.application)}/", EVERYONE, anonymous=OK
    ),
    # the file of a material: its owner, the intake window's clerks, the handling unit's staff
    "applications:download": _row(
        lambda w: f"/files/{w.file_id}/", {"owner", "clerk", "reviewer", "unit_head"}
    ),
    # result documents: the PDF for the applicant (once concluded), the intake window's clerks
    # and the deciding unit's staff; the verification page for anyone, logged in or not
    "documents:download": _row(
        lambda w: f"/documents/{w.document.pk}/pdf/", {"owner", "clerk", "reviewer", "unit_head"}
    ),
    "documents:verify_form": _row("/verify/", EVERYONE, anonymous=OK),
    "documents:verify": _row(lambda w: f"/verify/{w.document.code}/", EVERYONE, anonymous=OK),
    # the window
    "staff:intake": _row("/staff/intake/", {"clerk", "other_clerk"}),
    "staff:intake_new": _row("/staff/intake/new/", {"clerk", "other_clerk"}),
    "staff:intake_in_person": _row(
        lambda w: f"/staff/intake/new/{w.in_person.reference}/", {"clerk"}
    ),
    "staff:intake_application": _row(_intake(""), {"clerk"}),
    # the accepted application's printable receipt, for its window's clerk
    "staff:intake_receipt": _row(_intake("receipt/"), {"clerk"}),
    "staff:intake_accept": _row(_intake("accept/"), {"clerk"}, method="post"),
    "staff:intake_return": _row(_intake("return/"), {"clerk"}, method="post"),
    "staff:intake_refuse": _row(_intake("refuse/"), {"clerk"}, method="post"),
    "staff:intake_visit": _row(_intake("visit/"), {"clerk"}, method="post"),
    # 智能预审: the intake window's clerk agrees or disagrees with a pre-check finding
    "staff:intake_precheck_verdict": _row(
        lambda w: f"/staff/intake/{w.application.reference}/precheck/{w.precheck_finding_id}/",
        {"clerk"},
        method="post",
        data={"verdict": "agree"},
    ),
    # results out together: the intake window's clerk confirms a pick-up or records a posting
    # (this application has not concluded: the clerk is told so, back on the page)
    "staff:intake_handed_over": _row(_intake("handed-over/"), {"clerk"}, method="post"),
    "staff:intake_posted": _row(
        _intake("posted/"),
        {"clerk"},
        method="post",
        data={"carrier": "sf", "tracking_number": "SF123456789012"},
    ),
    # the back office
    # every reviewer has their unit's queues (the legal reviewer too: 政策法规处's, empty)
    "staff:cases": _row("/staff/cases/", UNIT_REVIEWERS),
    "staff:case_detail": _row(lambda w: f"/staff/cases/{w.case_id}/", {"reviewer", "unit_head"}),
    "staff:case_action": _row(
        lambda w: f"/staff/cases/{w.case_id}/pause/", {"reviewer", "unit_head"}, method="post"
    ),
    # follow-ups (好差评): every reviewer has their unit's queue; one follow-up is its unit's
    # 好差评 at the window: a hotline rating typed in by a clerk of the intake window (this
    # application has not concluded: the clerk is told so, back on the page)
    "staff:intake_hotline_rating": _row(_intake("hotline-rating/"), {"clerk"}, method="post"),
    "staff:follow_ups": _row("/staff/follow-ups/", UNIT_REVIEWERS),
    "staff:follow_up_detail": _row(
        lambda w: f"/staff/follow-ups/{w.follow_up_id}/", {"reviewer", "unit_head"}
    ),
    "staff:follow_up_verify": _row(
        lambda w: f"/staff/follow-ups/{w.follow_up_id}/verify/",
        {"reviewer", "unit_head"},
        method="post",
    ),
    "staff:follow_up_appeal": _row(
        lambda w: f"/staff/follow-ups/{w.follow_up_id}/appeal/",
        {"reviewer", "unit_head"},
        method="post",
    ),
    "staff:follow_up_answer": _row(
        lambda w: f"/staff/follow-ups/{w.follow_up_id}/answer/",
        {"reviewer", "unit_head"},
        method="post",
    ),
    # 告知承诺制: the unit's post-hoc verifications (its head decides after the hearing and
    # lifts bars; a reviewer's POST is refused with a message, back on the page)
    "staff:commitment_checks": _row("/staff/commitment-checks/", UNIT_REVIEWERS),
    "staff:commitment_check": _row(_check(""), {"reviewer", "unit_head"}),
    "staff:commitment_check_method": _row(
        _check("method/"), {"reviewer", "unit_head"}, method="post"
    ),
    "staff:commitment_check_evidence": _row(
        _check("evidence/"), {"reviewer", "unit_head"}, method="post"
    ),
    "staff:commitment_check_evidence_file": _row(
        _check("evidence/file/"), {"reviewer", "unit_head"}
    ),
    "staff:commitment_check_outcome": _row(
        _check("outcome/"), {"reviewer", "unit_head"}, method="post"
    ),
    "staff:commitment_hearing_decide": _row(
        _check("decide/"), {"reviewer", "unit_head"}, method="post"
    ),
    "staff:commitment_repayment_paid": _row(
        lambda w: f"/staff/commitment-checks/{w.check_id}/repayments/{w.order_id}/paid/",
        {"reviewer", "unit_head"},
        method="post",
    ),
    "staff:commitment_bar_lift": _row(
        lambda w: f"/staff/commitment-checks/{w.check_id}/bars/{w.bar_id}/lift/",
        {"reviewer", "unit_head"},
        method="post",
    ),
    # the applicant answers a hearing notice about their own commitment
    "applications:hearing_answer": _row(
        lambda w: f"/applications/{w.committed_reference}/hearings/{w.hearing_id}/answer/",
        {"owner"},
        method="post",
    ),
    # extensions: the unit's heads and the city's supervision office
    # (the other reviewer heads another unit: their list, without this request)
    "staff:extensions": _row("/staff/extensions/", {"unit_head", "other_reviewer", "supervisor"}),
    "staff:extension_decide": _row(
        lambda w: f"/staff/extensions/{w.extension_id}/decide/",
        {"unit_head", "supervisor"},
        method="post",
    ),
    # supervision
    "speedup:metrics": _row("/speedup/", SUPERVISORS),
    "supervision:programme": _row("/supervision/", SUPERVISORS),
    "supervision:dashboard": _row("/supervision/dashboard/", SUPERVISORS),
    "supervision:cases": _row("/supervision/cases/?figure=received", SUPERVISORS),
    "supervision:overdue": _row("/supervision/overdue/", SUPERVISORS),
    "supervision:visits": _row("/supervision/visits/?by=hall", SUPERVISORS),
    "supervision:reviews": _row("/supervision/reviews/?figure=bad", SUPERVISORS),
    "supervision:follow_ups": _row("/supervision/follow-ups/", SUPERVISORS),
    "supervision:commitment_checks": _row("/supervision/commitment-checks/", SUPERVISORS),
    # the proactive services' funnel: the city's supervision office (not district-scoped)
    "supervision:invitations": _row("/supervision/invitations/", {"supervisor", "admin"}),
    "supervision:prechecks": _row("/supervision/prechecks/", {"supervisor", "admin"}),
    # appeals are decided by the city's supervision office (this follow-up has no appeal: 404)
    # the campaign (考评验收): everyone supervising sees it, 局行风办 runs it; units file their own
    "supervision:campaigns": _row("/supervision/campaigns/", SUPERVISORS),
    "supervision:campaign": _row("/supervision/campaigns/KB2020/", SUPERVISORS),
    "supervision:campaign_launch": _row(
        "/supervision/campaigns/KB2020/launch/", {"supervisor", "admin"}, method="post"
    ),
    "supervision:campaign_copy": _row(
        "/supervision/campaigns/KB2020/copy/", {"supervisor", "admin"}, method="post"
    ),
    "supervision:filing": _row(lambda w: f"/supervision/filings/{w.unit_task_id}/", SUPERVISORS),
    "supervision:filing_review": _row(
        lambda w: f"/supervision/filings/{w.unit_task_id}/review/",
        {"supervisor", "admin"},
        method="post",
    ),
    "supervision:evaluations": _row("/supervision/evaluations/", SUPERVISORS),
    "supervision:evaluation_open": _row(
        "/supervision/evaluations/open/", {"supervisor", "admin"}, method="post"
    ),
    "supervision:evaluation": _row(
        lambda w: f"/supervision/evaluations/{w.evaluation_id}/", SUPERVISORS
    ),
    "supervision:evaluation_step": _row(
        lambda w: f"/supervision/evaluations/{w.evaluation_id}/experience/",
        {"supervisor", "admin"},
        method="post",
    ),
    "supervision:scores": _row("/supervision/campaigns/KB2020/scores/", SUPERVISORS),
    "supervision:notices": _row("/supervision/notices/", SUPERVISORS),
    "supervision:notice_draft": _row(
        "/supervision/notices/draft/", {"supervisor", "admin"}, method="post"
    ),
    "supervision:notice": _row(lambda w: f"/supervision/notices/{w.notice_id}/", SUPERVISORS),
    "supervision:notice_xlsx": _row(
        lambda w: f"/supervision/notices/{w.notice_id}/xlsx", SUPERVISORS
    ),
    "supervision:notice_edit": _row(
        lambda w: f"/supervision/notices/{w.notice_id}/edit/",
        {"supervisor", "admin"},
        method="post",
    ),
    "supervision:notice_issue": _row(
        lambda w: f"/supervision/notices/{w.notice_id}/issue/",
        {"supervisor", "admin"},
        method="post",
    ),
    "reports:schedule_new": _row(
        "/reports/leaders/schedules/", SUPERVISORS, method="post", data={"frequency": "weekly"}
    ),
    "reports:schedule_stop": _row(
        lambda w: f"/reports/leaders/schedules/{w.schedule_id}/stop/", {"supervisor"}, method="post"
    ),
    # a city-wide report: a district supervisor does not see it
    "reports:leader_issued_xlsx": _row(
        lambda w: f"/reports/leaders/{w.issued_report_id}/issued.xlsx", {"supervisor", "admin"}
    ),
    "staff:findings": _row(
        "/staff/findings/", {"reviewer", "other_reviewer", "unit_head", "legal_reviewer"}
    ),
    "staff:finding": _row(lambda w: f"/staff/findings/{w.finding_id}/", {"reviewer", "unit_head"}),
    "staff:finding_close": _row(
        lambda w: f"/staff/findings/{w.finding_id}/close/", {"reviewer", "unit_head"}, method="post"
    ),
    "staff:finding_evidence": _row(
        lambda w: f"/staff/findings/{w.finding_id}/evidence/", {"reviewer", "unit_head"}
    ),
    "staff:campaign_tasks": _row(
        "/staff/campaign-tasks/", {"reviewer", "other_reviewer", "unit_head", "legal_reviewer"}
    ),
    "staff:campaign_task": _row(
        lambda w: f"/staff/campaign-tasks/{w.unit_task_id}/", {"reviewer", "unit_head"}
    ),
    # a case behind a figure, read-only (the world's case has no hall: outside any district)
    "supervision:case": _row(lambda w: f"/supervision/cases/{w.case_id}/", {"supervisor", "admin"}),
    "supervision:follow_up_decide": _row(
        lambda w: f"/supervision/follow-ups/{w.follow_up_id}/decide/", set(), method="post"
    ),
    # exports: every supervisor has their own; a job is its owner's alone
    "reports:exports": _row("/reports/exports/", SUPERVISORS),
    "reports:export_new": _row("/reports/exports/new/?figure=received", SUPERVISORS),
    "reports:export": _row(_export(""), {"supervisor"}),
    "reports:export_status": _row(_export("status.json"), {"supervisor"}),
    "reports:download": _row(_export("download"), {"supervisor"}),
    "reports:export_cancel": _row(_export("cancel"), {"supervisor"}, method="post"),
    "reports:export_retry": _row(_export("retry"), {"supervisor"}, method="post"),
    "reports:leader": _row("/reports/leaders/", SUPERVISORS),
    "reports:leader_xlsx": _row("/reports/leaders/xlsx", SUPERVISORS),
    # a saved report of the whole city: not for a district's supervisor
    "reports:leader_saved": _row(
        lambda w: f"/reports/leaders/{w.report_id}/", {"supervisor", "admin"}
    ),
    "reports:leader_saved_xlsx": _row(
        lambda w: f"/reports/leaders/{w.report_id}/xlsx", {"supervisor", "admin"}
    ),
    # service guides under legal review: administrators propose and submit, the legal-review
    # unit decides
    "staff:guide_reviews": _row("/staff/guides/", {"admin", "legal_reviewer"}),
    "staff:guide_review": _row(_guide(""), {"admin", "legal_reviewer"}),
    "staff:guide_review_submit": _row(_guide("submit/", draft=True), {"admin"}, method="post"),
    "staff:guide_review_approve": _row(_guide("approve/"), {"legal_reviewer"}, method="post"),
    "staff:guide_review_return": _row(
        _guide("return/"), {"legal_reviewer"}, method="post", data={"comments": "依据不足"}
    ),
    # the working-day calendar: administrators only (the month view, and the import whose GET is
    # the upload form; its POSTs are in tests/desk/test_calendar.py)
    "staff:calendar": _row("/staff/calendar/", {"admin"}),
    "staff:calendar_year": _row("/staff/calendar/2027/", {"admin"}),
    "staff:calendar_import": _row("/staff/calendar/import/", {"admin"}),
    # the open API (/api/v1/): the public catalog; the rest answers 401 without a token or a
    # session, and 404 to someone who may not call it, as the pages do
    **{
        f"api:{name}": _row(path, EVERYONE, anonymous=OK)
        for name, path in (
            ("bundles", "/api/v1/catalog/bundles/"),
            ("bundle", "/api/v1/catalog/bundles/B03/"),
            ("items", "/api/v1/catalog/items/"),
            ("item", "/api/v1/catalog/items/LR-002/"),
            ("halls", "/api/v1/catalog/halls/"),
            ("schema", "/api/schema/"),
            ("docs", "/api/docs/"),
        )
    },
    # a token is made from a session (DRF's session-only refusal is 403); revoking one needs it
    "api:token_create": _row(
        "/api/v1/tokens/", EVERYONE, method="post", anonymous="403", json=True
    ),
    "api:token_revoke": _row(
        "/api/v1/tokens/current/",
        set(),
        method="delete",
        anonymous=API_LOGIN,
        others=dict.fromkeys(EVERYONE, API_LOGIN),  # a session is not a token
    ),
    "api:applications": _row("/api/v1/applications/", APPLICANTS, anonymous=API_LOGIN),
    "api:application": _row(
        lambda w: f"/api/v1/applications/{w.application.reference}/",
        {"owner"},
        anonymous=API_LOGIN,
    ),
    "api:cases": _row("/api/v1/cases/", UNIT_REVIEWERS, anonymous=API_LOGIN),
    "api:case": _row(
        lambda w: f"/api/v1/cases/{w.case_id}/", {"reviewer", "unit_head"}, anonymous=API_LOGIN
    ),
    # each action as the desk's button; an empty body is refused (400) where one is needed
    **{
        f"api:case_{action}": _row(
            lambda w, a=action: f"/api/v1/cases/{w.case_id}/{a}/",
            set() if status != OK else {"reviewer", "unit_head"},
            method="post",
            json=True,
            anonymous=API_LOGIN,
            others={} if status == OK else {"reviewer": status, "unit_head": status},
        )
        for action, status in API_CASE_ACTIONS.items()
    },
    "api:intake": _row("/api/v1/intake/", {"clerk", "other_clerk"}, anonymous=API_LOGIN),
    # the application was accepted already: a second acceptance loses the race (409)
    "api:intake_accept": _row(
        lambda w: f"/api/v1/intake/{w.application.reference}/accept/",
        set(),
        method="post",
        json=True,
        anonymous=API_LOGIN,
        others={"clerk": "409"},
    ),
    "api:intake_return": _row(
        lambda w: f"/api/v1/intake/{w.application.reference}/return/",
        set(),
        method="post",
        json=True,
        anonymous=API_LOGIN,
        others={"clerk": "400"},
    ),
    "api:metrics": _row("/api/v1/metrics/", SUPERVISORS, anonymous=API_LOGIN),
    # the integrations' status page (shared-data sources, …): administrators only
    "staff:integrations": _row("/staff/integrations/", {"admin"}),
    # the open API, other departments: only a department's client (kbd_ bearer) may call
    # them; a session of any kind gets 404, anonymous 401 (tests/departments/ cover the clients)
    "api:department_requests": _row("/api/v1/department/requests/", set(), anonymous="401"),
    "api:department_request_answer": _row(
        "/api/v1/department/requests/1/answer/",
        set(),
        method="post",
        anonymous="401",
        data={"reply": "已核实"},
    ),
    # the Django admin: administrators only (others are sent to its login)
    "admin": _row(
        "/admin/",
        {"admin"},
        anonymous="admin-login",
        others=dict.fromkeys(EVERYONE - {"admin"}, "admin-login"),
    ),
}


def _url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    names.add("admin")
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_every_url_has_its_row():
    assert _url_names() == set(MATRIX), "add the new URL's row to MATRIX (who may open it)"


def _users() -> dict[str, object]:
    district = District.objects.first()
    return {
        "owner": UserFactory(citizen=True),
        "other_citizen": UserFactory(citizen=True),
        "enterprise": UserFactory(enterprise=True),
        "clerk": clerk_of("LABOUR"),
        "other_clerk": clerk_of("BUNDLE", "SOCIAL"),
        "reviewer": None,  # of the case's unit, once the case exists
        "other_reviewer": None,
        "unit_head": None,
        "supervisor": UserFactory(supervisor=True),
        "district_supervisor": UserFactory(supervisor=True, district=district),
        "admin": UserFactory(
            role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True, username="root-admin"
        ),
        "legal_reviewer": legal_reviewer(),
    }


def _world(users) -> World:
    """The owner's B10 draft, and their LR-002 application (window LABOUR, unit LDGX: an item
    whose law allows an extension) accepted, with an extension requested by the reviewer."""
    owner = users["owner"]
    application = accepted(single_item_submitted("LR-002", owner), users["clerk"])
    case = case_of(application)
    users["reviewer"] = reviewer_of(case.unit.code)
    users["unit_head"] = reviewer_of(case.unit.code, head=True)
    users["other_reviewer"] = reviewer_of("SBZX", head=True)
    extension = handling.extension_request(case=case, actor=users["reviewer"], reason="需现场核查")
    in_person = window_intake_start(
        clerk=users["clerk"],
        resident_id=owner.resident_id,
        real_name=owner.real_name,
        phone=owner.phone,
        item=case.item,
    )
    job = ExportJob.objects.create(
        user=users["supervisor"], kind="cases", parameters={}, status="done", file_path="x.xlsx"
    )
    (Path(settings.MEDIA_ROOT) / "x.xlsx").write_bytes(b"PK")
    report = LeaderReport.objects.create(
        author=users["supervisor"],
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        next_steps="…",
    )
    # The case missed its committed time: a follow-up for its unit (快办要求未落实).
    followups_open_for_overdue([case.pk], timezone.now())
    concluded = accepted(single_item_submitted("LR-002", owner), users["clerk"])
    approved(case_of(concluded), users["reviewer"])
    check, hearing, order, bar = _commitment_found_false(users)
    campaign_launch(campaign=Campaign.objects.get(code="KB2020"), actor=users["supervisor"])
    unit_task = UnitTask.objects.get(task__code="DOCKING", unit=users["reviewer"].unit)
    evaluation = evaluation_open(
        campaign=Campaign.objects.get(code="KB2020"),
        actor=users["supervisor"],
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        bundle=Bundle.objects.get(code="B07"),
    )
    finding = finding_record(
        evaluation=evaluation,
        actor=users["supervisor"],
        source="on_site",
        text="服务指南未张贴",
        unit=users["reviewer"].unit,
        rectify_by=timezone.localdate() + timedelta(days=10),
    )
    finding_close(finding=finding, actor=users["reviewer"], rectification="已张贴", upload=upload())
    schedule = ReportSchedule.objects.create(author=users["supervisor"], frequency="monthly")
    scheduled_reports_issue()
    notice = notice_draft(
        campaign=evaluation.campaign,
        actor=users["supervisor"],
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        title="通报",
        body="……",
    )
    guide_draft, guide_submitted = _guide_changes(users["admin"])
    return World(
        draft=draft(owner),
        application=application,
        case_id=case.pk,
        file_id=application.materials.exclude(file=None).values_list("file_id", flat=True)[0],
        in_person=in_person,
        export_id=job.pk,
        report_id=report.pk,
        extension_id=extension.pk,
        follow_up_id=FollowUp.objects.get(item_case=case).pk,
        document=ResultDocument.objects.get(application=concluded),
        check_id=check.pk,
        hearing_id=hearing.pk,
        order_id=order.pk,
        bar_id=bar.pk,
        committed_reference=check.application.reference,
        unit_task_id=unit_task.pk,
        evaluation_id=evaluation.pk,
        finding_id=finding.pk,
        notice_id=notice.pk,
        schedule_id=schedule.pk,
        issued_report_id=LeaderReport.objects.get(schedule=schedule).pk,
        guide_draft_id=guide_draft.pk,
        guide_submitted_id=guide_submitted.pk,
        invitation_token=Invitation.objects.create(
            rule=InvitationRule.objects.get(code="P-B02-B03"),
            person_hash=keyed_hash(owner.resident_id),
            user=owner,
            trigger_key="application:TEST",
        ).token,
        precheck_finding_id=PrecheckFinding.objects.create(
            application=application,
            rule=PrecheckRule.objects.get(code="PC-DUPLICATE"),
            severity="warn",
            message_zh="您已有同一事项的申请正在办理",
        ).pk,
    )


def _guide_changes(admin):
    """Two guide changes proposed by the admin: LR-002's fee (a draft), B10's (submitted)."""
    drafts = []
    for model, code in ((ServiceItem, "LR-002"), (Bundle, "B10")):
        subject = model.objects.get(code=code)
        before = {subject.pk: guide_versions.snapshot_of(subject)}
        model.objects.filter(pk=subject.pk).update(fee="工本费10元")
        (version,) = guide_versions.hold_for_review(model, before, proposed_by=admin)
        drafts.append(version)
    guide_versions.version_submit(version=drafts[1], actor=admin)
    return drafts


def _commitment_found_false(users):
    """The owner's LR-001 application (the same unit) with the business-premises proof replaced
    by a commitment, decided, verified with evidence and found false: the hearing waits for the
    owner's answer. A repayment order and a bar stand beside it for their rows."""
    application = accepted(
        submit(committed_draft(users["owner"], item="LR-001", commit=("M-PREMISES",))),
        users["clerk"],
    )
    handling.case_approve(case=case_of(application), actor=users["reviewer"])
    check = CommitmentCheck.objects.get(application=application)
    check_attach_evidence(check=check, actor=users["reviewer"], upload=upload())
    check_conclude(
        check=check,
        actor=users["reviewer"],
        finding=CheckState.FOUND_FALSE,
        outcome_note="场地不存在",
        legal_basis="依据",
    )
    order = RepaymentOrder.objects.create(
        check_row=check,
        amount=Decimal("1"),
        due_date=date(2026, 12, 31),
        ordered_by=users["unit_head"],
    )
    bar = CommitmentBar.objects.create(
        person=users["owner"], check_row=check, reason="承诺不实", imposed_by=users["unit_head"]
    )
    return check, check.hearing, order, bar


def _outcome(response) -> str:
    if response.status_code == 302 and "/admin/login/" in response.headers["Location"]:
        return "admin-login"
    if response.status_code == 302 and "/accounts/login/" in response.headers["Location"]:
        return LOGIN
    if response.status_code == 404:
        return NO
    if response.status_code < 400:
        return OK
    return str(response.status_code)


def _expected(row: Row, role: str) -> str:
    if role == "anonymous":
        return row.anonymous
    if role in row.allowed:
        return OK
    return row.others.get(role, NO)


def test_the_access_matrix(client, settings, tmp_path, oidc_provider):
    settings.MEDIA_ROOT = tmp_path
    settings.KUAIBAN_OIDC_ISSUER = oidc_provider.issuer
    settings.KUAIBAN_OIDC_CLIENT_ID = oidc_client_id
    users = _users()
    world = _world(users)
    wrong = []
    for name, row in MATRIX.items():
        path = row.path(world)
        for role in ROLES:
            client.logout()
            if role != "anonymous":
                client.force_login(users[role])
            with transaction.atomic():
                if row.json:
                    response = getattr(client, row.method)(
                        path, row.data, content_type="application/json"
                    )
                else:
                    response = getattr(client, row.method)(path, row.data)
                transaction.set_rollback(True)
            got, expected = _outcome(response), _expected(row, role)
            if got != expected:
                wrong.append(
                    f"{name} {row.method.upper()} {path} as {role}: {got}, expected {expected}"
                )
    assert not wrong, "\n".join(wrong)
