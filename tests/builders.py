"""Applications in each state of their life, built through the real services (never by writing
rows), so a test starts where its behaviour begins:

    draft → ready (form filled, materials provided) → submitted → accepted → concluded

Bundles are named by code (default B10, the social-security card: one stage, instant items);
single items by code or Chinese name. Applicants are generated (valid check digits, never real
people); uploads are tiny valid PDFs.
"""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from bundles.selectors import required_form_fields, required_materials
from bundles.services import applications, handling, intake, materials, submission
from kuaiban.cases.models import Application, ItemCase
from kuaiban.catalog.models import Bundle, FormField, ServiceItem
from kuaiban.ratings.followups import (
    followup_answer,
    followup_appeal,
    followup_appeal_decide,
    followup_rate_rectification,
    followup_verify,
)
from kuaiban.ratings.models import Finding, FollowUp
from tests.factories import UserFactory, generated_resident_id

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(name: str = "doc.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def valid_value(form_field: FormField) -> str:
    """A value the one form accepts for this field's kind."""
    return {
        FormField.Kind.DATE: "2026-11-02",
        FormField.Kind.MONTH: "2026-11",
        FormField.Kind.NUMBER: "3",
        FormField.Kind.RESIDENT_ID: generated_resident_id(),
        FormField.Kind.PHONE: "13912345678",
        FormField.Kind.BANK_ACCOUNT: "6222020200112233445",
        FormField.Kind.YES_NO: "yes",
        FormField.Kind.CHOICE: (form_field.choice_list or ["x"])[0],
    }.get(form_field.kind, "示例内容")


def service_item(code_or_name: str) -> ServiceItem:
    return ServiceItem.objects.get(Q(code=code_or_name) | Q(name_zh=code_or_name))


# -- drafts ------------------------------------------------------------------------------------


def draft(user, code: str = "B10", answers: dict | None = None) -> Application:
    """A bundle draft with every situation question answered (no, unless `answers` says yes)."""
    application = applications.application_start(
        applicant=user, bundle=Bundle.objects.get(code=code)
    )
    applications.application_answer_questions(
        application=application,
        actor=user,
        answers={q.code: False for q in application.situation_questions()} | (answers or {}),
    )
    application.refresh_from_db()
    return application


def complete(application: Application, user) -> Application:
    """Fill in the one form and upload every material that needs an action."""
    applications.application_save_form(
        application=application,
        actor=user,
        data={f.code: valid_value(f) for f in required_form_fields(application)},
    )
    for entry in required_materials(application):
        if entry.needs_action:
            materials.material_upload(
                application=application, actor=user, material=entry.material, upload=upload()
            )
    application.refresh_from_db()
    return application


def submitted_with_form(code: str, user, form: dict[str, str]) -> Application:
    """A submitted bundle application whose form answers `form` (valid values elsewhere): an
    employer's B02 filing naming an employee, say."""
    application = draft(user, code)
    applications.application_save_form(
        application=application,
        actor=user,
        data={f.code: valid_value(f) for f in required_form_fields(application)} | form,
    )
    return submit(complete_materials(application, user))


def complete_materials(application: Application, user) -> Application:
    """Upload every material that needs an action (the form left as it is)."""
    for entry in required_materials(application):
        if entry.needs_action:
            materials.material_upload(
                application=application, actor=user, material=entry.material, upload=upload()
            )
    application.refresh_from_db()
    return application


def ready_application(user, code: str = "B10", answers: dict | None = None) -> Application:
    """A bundle draft with everything provided, ready to submit."""
    return complete(draft(user, code, answers), user)


def single_item_ready(item: str, user=None) -> Application:
    """A single-item draft (by an enterprise unless `user`), everything provided."""
    user = user or UserFactory(enterprise=True)
    application = applications.application_start(applicant=user, item=service_item(item))
    return complete(application, user)


# -- submitted and beyond ----------------------------------------------------------------------


def submit(application: Application) -> Application:
    submission.application_submit(application=application, actor=application.applicant)
    application.refresh_from_db()
    return application


WARNING_SEEN = re.compile(r'name="warning_seen" value="([^"]+)"')


def review_submit(client, application: Application, data: dict | None = None, **kwargs):
    """Press "submit" on the check page as the browser does: the page is read first and the
    pre-check warnings it showed are posted back with `data` (rule PRECHECK-SEEN)."""
    url = f"/applications/{application.reference}/review/"
    page = client.get(url).content.decode()
    shown = WARNING_SEEN.findall(page)
    return client.post(url, {**(data or {}), "warning_seen": shown}, **kwargs)


def submitted(code: str = "B10", user=None, answers: dict | None = None) -> Application:
    """A submitted bundle application (by a generated citizen unless `user`)."""
    return submit(ready_application(user or UserFactory(citizen=True), code, answers))


def single_item_submitted(item: str, user=None) -> Application:
    """A submitted single-item application; its intake window is the item's own."""
    return submit(single_item_ready(item, user))


def accepted(application: Application, clerk, **kwargs) -> Application:
    """Accepted at intake by `clerk`: the first stage's clocks run."""
    intake.application_accept(application=application, actor=clerk, **kwargs)
    application.refresh_from_db()
    return application


def case_of(application: Application, item_code: str | None = None) -> ItemCase:
    """The application's case for the item (its only case when no code is given)."""
    cases = ItemCase.objects.filter(application=application)
    return cases.get(item__code=item_code) if item_code else cases.get()


def approved(case: ItemCase, reviewer) -> ItemCase:
    """Approved by a reviewer of its unit (the application concludes when nothing is left)."""
    handling.case_approve(case=case, actor=reviewer)
    case.refresh_from_db()
    return case


# -- staff -------------------------------------------------------------------------------------


def clerk_of(*window_codes: str, **kwargs):
    """A window clerk serving the windows with these codes."""
    from kuaiban.catalog.models import Window

    clerk = UserFactory(clerk=True, **kwargs)
    clerk.windows.add(*Window.objects.filter(code__in=window_codes))
    return clerk


def reviewer_of(unit_code: str, *, head: bool = False, **kwargs):
    """A back-office reviewer of the unit with this code (its head with `head=True`)."""
    from kuaiban.catalog.models import Unit

    kwargs.setdefault("is_unit_head", head)
    return UserFactory(reviewer=True, unit=Unit.objects.get(code=unit_code), **kwargs)


def legal_reviewer(**kwargs):
    """A reviewer of the legal-review unit (政策法规处, ZCFG): reviews service-guide changes."""
    return reviewer_of("ZCFG", **kwargs)


def guide_administrator(**kwargs):
    """An administrator: proposes service-guide changes and submits them for legal review."""
    from kuaiban.accounts.models import Role

    return UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True, **kwargs)


def publish_drafts(administrator=None, reviewer=None) -> list:
    """Every open guide draft submitted and approved, through the services: the guides the
    drafts propose become the published ones."""
    from kuaiban.catalog import guide_versions
    from kuaiban.catalog.models import GuideVersion

    administrator = administrator or guide_administrator()
    reviewer = reviewer or legal_reviewer()
    published = []
    for version in GuideVersion.objects.filter(state=GuideVersion.State.DRAFT).order_by("pk"):
        guide_versions.version_submit(version=version, actor=administrator)
        published.append(guide_versions.version_approve(version=version, actor=reviewer))
    return published


# -- moments -----------------------------------------------------------------------------------

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    """A moment in Beijing time: at(2026, 11, 24, 10, 0)."""
    return datetime(*args, tzinfo=SH)


TUESDAY_10AM = at(2026, 11, 24, 10, 0)


def accepted_instant_case(when: datetime = TUESDAY_10AM) -> ItemCase:
    """An all-instant social-security card application accepted at `when` at the 一窗通办
    window; its card case (due 30 office minutes later)."""
    with time_machine.travel(when, tick=False):
        application = submitted("B10", answers={"BANK_OUTLET": True, "INSURED": True})
        intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    return application.cases.get(item__code="SI-025")


def sms_code(phone: str) -> str:
    """The newest one-time code sent to `phone`, read from the outbox row (as the gateway would
    send it)."""
    from kuaiban.notifications.models import Notification

    rows = Notification.objects.filter(channel=Notification.Channel.SMS).order_by("-pk")
    row = next(r for r in rows if r.phone == phone)  # the number is encrypted: compared here
    found = re.search(r"\b(\d{6})\b", row.body)
    assert found, row.body
    return found.group(1)


def concluded(user=None, when: datetime | None = None) -> Application:
    """A social-security card application (B10) concluded at intake in one sitting (every item
    instant: a card made at the bank outlet for someone already insured), at `when` if given."""
    with time_machine.travel(when or timezone.now(), tick=False):
        application = submitted("B10", user, answers={"BANK_OUTLET": True, "INSURED": True})
        intake.application_accept(
            application=application, actor=clerk_of("BUNDLE"), conclude_instant=True
        )
    application.refresh_from_db()
    return application


def login_request(ip: str = "192.0.2.10") -> HttpRequest:
    """A request to pass to `authenticate()` or `client.login()`: the log-in lock-out counts
    failures by name and client address, so an authentication without a request is refused."""
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = ip
    request.path = request.path_info = "/accounts/login/"
    return request


def follow_ups_worked(reviews) -> None:
    """The first three bad-review follow-ups given: the first verified and answered 3 hours after
    opening and its rectification rated satisfied (4), the second answered 12 days late, the
    third appealed and the appeal upheld by the supervision office."""
    answered, late, appealed = reviews[:3]
    for follow_up, after in ((answered, timedelta(hours=3)), (late, timedelta(days=12))):
        with time_machine.travel(follow_up.opened_at + after, tick=False):
            actor = reviewer_of(follow_up.unit.code)
            followup_verify(
                follow_up=follow_up, actor=actor, contact_note="电话回访", finding=Finding.JUSTIFIED
            )
            followup_answer(follow_up=follow_up, actor=actor, rectification="整改", answer="已整改")
    followup_rate_rectification(follow_up=answered, grade=4)
    with time_machine.travel(appealed.opened_at + timedelta(hours=1), tick=False):
        followup_appeal(follow_up=appealed, actor=reviewer_of(appealed.unit.code), reason="误评")
        followup_appeal_decide(
            follow_up=FollowUp.objects.get(pk=appealed.pk),
            actor=UserFactory(supervisor=True),
            upheld=True,
            note="核实为误评",
        )


# -- commitments (告知承诺制) ------------------------------------------------------------------


def committed_draft(
    user=None, *, item: str = "SI-009", bundle: str = "", commit: tuple[str, ...] = ("M-DEATH",)
) -> Application:
    """A citizen's draft (a single item, by default 一次性工亡补助金 of the social-insurance
    centre, or a bundle by code) whose `commit` materials are replaced by signed commitments
    and every other material uploaded; ready to submit."""
    user = user or UserFactory(citizen=True)
    if bundle:
        application = draft(user, bundle)
    else:
        application = applications.application_start(applicant=user, item=service_item(item))
    for entry in required_materials(application):
        if entry.material.code in commit:
            materials.material_commit(
                application=application,
                actor=user,
                material=entry.material,
                signed_name=user.real_name,
                agreed=True,
            )
    return complete(application, user)


def decided_with_commitment(user=None, **kwargs) -> Application:
    """`committed_draft` submitted, accepted at the social-insurance window and approved by a
    reviewer of the social-insurance centre: the decision opens the commitments' checks."""
    application = accepted(submit(committed_draft(user, **kwargs)), clerk_of("SOCIAL"))
    approved(case_of(application), reviewer_of("SBZX"))
    application.refresh_from_db()
    return application


def on_record(user, *, insured: bool = True) -> None:
    """Put an applicant in the LOCAL shared-data sources (generated data, as `setup_demo` does):
    a person in the population register (and, `insured`, with a social-insurance history), an
    enterprise in the market registration."""
    from kuaiban.accounts.services import reference_enterprises_load, reference_identities_load
    from kuaiban.shareddata.kinds import DataKind
    from kuaiban.shareddata.services import reference_records_load

    if user.credit_code:
        reference_enterprises_load(
            [(user.credit_code, user.real_name, user.legal_representative or "测试法人")]
        )
    if user.resident_id:
        reference_identities_load([(user.real_name, user.resident_id)])
        if insured:
            facts = {"insured_since": "2011-12", "months_paid": "180", "bank": "测试银行"}
            facts["account"] = "6222020000001234"
            reference_records_load(
                DataKind.SOCIAL_INSURANCE, [(user.resident_id, f"SI-{user.pk}", facts)]
            )
