"""Submission: the one set of materials checked once, then the fan-out into item cases that
the units handle in parallel (打包办, 一次提交). Resubmission after a return reopens the same
cases; nothing is created twice."""

from collections.abc import Collection, Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.cases.events import transition
from kuaiban.cases.models import (
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseEvent,
    CaseState,
    EventAction,
    ItemCase,
)
from kuaiban.cases.visits import visit_target_for
from kuaiban.catalog.models import Material
from kuaiban.commitments.selectors import active_bar, bar_message
from kuaiban.precheck.rules import Finding, Severity
from kuaiban.precheck.services import findings_record, precheck_run, reads_uploads
from kuaiban.precheck.tasks import material_precheck_enqueue
from kuaiban.proactive.services import on_submission as proactive_on_submission
from kuaiban.requestid import current_request_id
from kuaiban.shareddata.models import SharedDataRecord
from kuaiban.shareddata.selectors import records_by_material
from kuaiban.shareddata.services import answered, fetch_for_application, fetchable

from ..selectors import (
    PlannedItem,
    RequiredMaterial,
    planned_items,
    planned_materials,
    required_form_fields,
    required_materials,
    situation_question_codes,
)
from .applications import form_data_errors
from .corrections import uncorrected
from .fitting import refresh_identity_answers
from .guards import lock_application, notify_applicant, require_editor
from .materials import provide_shared


class Problem(str):
    """One thing that stops submission, in words for the applicant; `step` (questions, form,
    materials) and `anchor` (the field or material) say where it is put right, for a link."""

    step: str = ""
    anchor: str = ""

    def __new__(cls, text, step: str = "", anchor: str = ""):
        problem = super().__new__(cls, text)
        problem.step, problem.anchor = step, anchor
        return problem


def missing_for_submission(
    application: Application,
    *,
    planned: list[PlannedItem] | None = None,
    required: list[RequiredMaterial] | None = None,
    findings: list[Finding] | None = None,
) -> list[str]:
    """What still stops submission, in words for the applicant (empty when ready). A caller that
    has the planned items, the required materials or the pre-check's findings already passes
    them (computed once)."""
    if planned is None:
        planned = planned_items(application)
    if required is None:
        required = required_materials(application, planned)
    if findings is None:
        findings = precheck(application, planned)
    problems: list[str] = []
    if situation_question_codes(application) - set(application.answers or {}):
        problems.append(Problem(_("Answer the questions about your situation."), "questions"))
    fields = required_form_fields(application, planned)
    data = application.form_data or {}
    missing = [f for f in fields if f.required and not data.get(f.code)]
    if missing:
        problems.append(Problem(_("Fill in the application form."), "form", missing[0].code))
    # The stored answers checked again by the same rules as the form (a draft may hold answers
    # saved before a rule changed, or saved beside invalid ones).
    _valid, invalid = form_data_errors([f for f in fields if data.get(f.code)], data)
    problems += [
        Problem(
            _("Correct “%(field)s” in the application form: %(error)s")
            % {"field": f.label, "error": " ".join(invalid[f.code])},
            "form",
            f.code,
        )
        for f in fields
        if f.code in invalid
    ]
    committed = []
    commitment = ApplicationMaterial.Provision.COMMITMENT
    for entry in required:
        if entry.needs_action:
            problems.append(_provide(entry.material))
        elif entry.provided and entry.provided.provision == commitment:
            committed.append(entry.material)
    # Barred after signing (a bar decided meanwhile): the commitments no longer stand in for the
    # proofs. Asked only when something was committed, so the usual case costs no query.
    if committed and (bar := active_bar(application.applicant)):
        problems.append(Problem(bar_message(bar), "materials"))
        problems += [_provide(m) for m in committed]
    # Rule RESUBMIT-CORRECTED: after a return, every returned material changed or explained.
    problems += [Problem(p, "materials") for p in uncorrected(application, required)]
    # 智能预审: a blocking pre-check rule stops submission with its explanation.
    problems += [
        Problem(f.message, "form", f.field) for f in findings if f.severity == Severity.BLOCK
    ]
    return problems


def precheck(
    application: Application,
    planned: list[PlannedItem],
    shared_records: Iterable[SharedDataRecord] | None = None,
) -> list[Finding]:
    """The smart pre-check (kuaiban/precheck) on the application as it stands, for its planned
    items: what blocks, warns the applicant or is flagged for the clerk. `shared_records`: the
    application's shared-data records, when the caller has read them."""
    return precheck_run(application, [p.item.code for p in planned], shared_records)


def warnings_of(findings: Iterable[Finding]) -> set[str]:
    """The codes of the rules that warn the applicant (the check page shows them)."""
    return {f.rule for f in findings if f.severity == Severity.WARN}


def _provide(material: Material) -> Problem:
    return Problem(
        _("Provide “%(material)s”.") % {"material": material.name}, "materials", material.code
    )


def shared_data_to_fetch(required: Sequence[RequiredMaterial]) -> list[Material]:
    """The shared-data materials a submission will fetch: those with a source, not provided
    otherwise and not answered yet (the review page lists them and asks consent)."""
    candidates = [e for e in required if e.provided is None and not answered(e.shared_record)]
    return fetchable([e.material for e in candidates])


def shared_data_fetch(
    *, application: Application, actor, consented: bool, answers: dict | None = None
) -> list:
    """Fetch the application's shared data just before it is submitted. NOT in a transaction
    (rule SHARED-OUTSIDE-TX): a slow source must never hold the application's lock; the caller
    submits afterwards, and the submission reads the records. `answers`: the form as typed at
    the window but not saved yet. Raises ValidationError (code "consent") without consent."""
    require_editor(application, actor)
    if not application.is_editable:
        return []
    if application.channel == Application.Channel.ONLINE and not application.applicant.is_verified:
        return []  # the submission refuses: nothing is fetched for an unverified account
    planned = planned_items(application)
    if not fetchable(planned_materials(application, planned)):
        return []  # no source switched on for any of its materials: no query
    to_fetch = shared_data_to_fetch(required_materials(application, planned))
    return fetch_for_application(
        application, to_fetch, actor=actor, consented=consented, answers=answers
    )


PRECHECK_UNSEEN = gettext_lazy(
    "The pre-check found something the check page did not show you (in the data just fetched, "
    "or after a change): read it below, then submit again."
)
UNVERIFIED = gettext_lazy(
    "Your account is not verified yet, so the application cannot be submitted. Confirm your "
    "mobile number and your identity on your account page; your draft is kept."
)


@transaction.atomic
def application_submit(
    *, application: Application, actor, warnings_seen: Collection[str] | None = None
) -> Application:
    """Submit once: fan out into item cases. Submitting an already submitted application again
    (a double click, a retried request) changes nothing and returns it.

    `warnings_seen`: the pre-check warnings the applicant's check page showed. A warning it
    did not show (raised by the shared data just fetched, or by an edit since) refuses the
    submission (ValidationError, code "precheck_unseen", rule PRECHECK-SEEN): the applicant
    reads it first. None (the window, the API): not asked.

    The planned items, the materials, the shared-data records and the catalog's rules are read
    once (the catalog from the process's tables); the writes are one statement each (shared
    materials, the application, its event, the cases, their events, the notifications), so the
    number of queries does not grow with the bundle."""
    application = lock_application(application)
    require_editor(application, actor)
    if not application.is_editable:
        return application
    if application.channel == Application.Channel.ONLINE and not application.applicant.is_verified:
        raise ValidationError(UNVERIFIED, code="unverified")
    planned = planned_items(application)
    refresh_identity_answers(application, planned)
    shared = records_by_material(application.pk)
    required = required_materials(application, planned, shared)
    findings = precheck(application, planned, shared.values())
    problems = missing_for_submission(
        application, planned=planned, required=required, findings=findings
    )
    if problems:
        raise ValidationError(problems)
    if warnings_seen is not None and warnings_of(findings) - set(warnings_seen):
        raise ValidationError(PRECHECK_UNSEEN, code="precheck_unseen")
    provide_shared(
        application,
        [e.material for e in required if e.material.shared_data and e.provided is None],
    )
    application.visit_target = visit_target_for(
        channel=application.channel,
        delivery=application.delivery,
        item_targets=[p.item.visit_target for p in planned],
    )
    resubmission = application.state == ApplicationState.RETURNED
    if application.bundle is not None and not resubmission:
        # The bundle's guide in force now (the live bundle carries its published number).
        application.guide_version = application.bundle.guide_version
    action = EventAction.RESUBMIT if resubmission else EventAction.SUBMIT
    transition(application, "submit", actor=actor, action=action)
    if resubmission:
        for case in application.cases.select_for_update().filter(state=CaseState.RETURNED):
            case.application = application
            transition(case, "resubmit", actor=actor, action=EventAction.RESUBMIT)
    else:
        fan_out(application, actor, planned)
    # 主动服务: the rules this bundle triggers invite the person its form names (once per
    # person and application, however often it is submitted).
    proactive_on_submission(application)
    # 智能预审: the warnings and flags stored with the submission, for the clerk and the figures.
    findings_record(application, findings)
    # ... and the rules reading the uploads (OCR, seconds): in a task once this commits.
    uploaded = [
        e.material.code
        for e in required
        if e.provided is not None and e.provided.provision == ApplicationMaterial.Provision.UPLOAD
    ]
    if reads_uploads(application, [p.item.code for p in planned], uploaded):
        pk = application.pk
        transaction.on_commit(lambda: material_precheck_enqueue(pk), robust=True)
    notify_applicant(
        application,
        _("Application %(reference)s received") % {"reference": application.reference},
        _("We have received your application for “%(subject)s”. Reference number: %(reference)s.")
        % {"subject": application.subject.name, "reference": application.reference},
    )
    return application


def fan_out(application: Application, actor, planned: list[PlannedItem]) -> None:
    """The fan-out: one item case per planned item, for its unit; the first stage's cases go to
    intake, later stages wait for the earlier ones. One INSERT for the cases, one for their
    events (inside the caller's transaction)."""
    first_stage = min(p.stage for p in planned)
    cases = ItemCase.objects.bulk_create(
        ItemCase(
            application=application,
            item=p.item,
            unit_id=p.item.unit_id,
            stage=p.stage,
            # The guide in force now: the live item carries its published version's number.
            guide_version=p.item.guide_version,
            state=CaseState.SUBMITTED if p.stage == first_stage else CaseState.WAITING,
        )
        for p in planned
    )
    CaseEvent.objects.bulk_create(
        CaseEvent(
            application=application,
            item_case=case,
            action=EventAction.CREATE,
            actor=actor,
            to_state=case.state,
            request_id=current_request_id.get(),
            data={"item": case.item.code, "stage": case.stage, "guide": case.guide_version},
        )
        for case in cases
    )
