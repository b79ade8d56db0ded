"""Submission: the one set of materials checked once, then the fan-out into item cases that
the units handle in parallel (打包办, 一次提交). Resubmission after a return reopens the same
cases; nothing is created twice."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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
from kuaiban.requestid import current_request_id

from ..selectors import planned_items, required_form_fields, required_materials
from .guards import lock_application, notify_applicant, require_editor
from .materials import provide


def missing_for_submission(application: Application) -> list[str]:
    """What still stops submission, in words for the applicant (empty when ready)."""
    problems = []
    questions = set(application.situation_questions().values_list("code", flat=True))
    if questions - set(application.answers or {}):
        problems.append(_("Answer the questions about your situation."))
    fields = required_form_fields(application)
    data = application.form_data or {}
    if any(f.required and not data.get(f.code) for f in fields):
        problems.append(_("Fill in the application form."))
    for entry in required_materials(application):
        if entry.needs_action:
            problems.append(_("Provide “%(material)s”.") % {"material": entry.material.name})
    return problems


@transaction.atomic
def application_submit(*, application: Application, actor) -> Application:
    """Submit once: fan out into item cases. Submitting an already submitted application again
    (a double click, a retried request) changes nothing and returns it."""
    application = lock_application(application)
    require_editor(application, actor)
    if not application.is_editable:
        return application
    problems = missing_for_submission(application)
    if problems:
        raise ValidationError(problems)
    for entry in required_materials(application):
        if entry.material.shared_data and entry.provided is None:
            provide(application, entry.material, ApplicationMaterial.Provision.SHARED)
    resubmission = application.state == ApplicationState.RETURNED
    action = EventAction.RESUBMIT if resubmission else EventAction.SUBMIT
    transition(application, "submit", actor=actor, action=action)
    if resubmission:
        for case in application.cases.select_for_update().filter(state=CaseState.RETURNED):
            transition(case, "resubmit", actor=actor, action=EventAction.RESUBMIT)
    else:
        fan_out(application, actor)
    notify_applicant(
        application,
        _("Application %(reference)s received") % {"reference": application.reference},
        _("We have received your application for “%(subject)s”. Reference number: %(reference)s.")
        % {"subject": application.subject.name, "reference": application.reference},
    )
    return application


def fan_out(application: Application, actor) -> None:
    """The fan-out: one item case per planned item, for its unit; the first stage's cases go to
    intake, later stages wait for the earlier ones. One INSERT for the cases, one for their
    events (inside the caller's transaction)."""
    planned = planned_items(application)
    first_stage = min(p.stage for p in planned)
    cases = ItemCase.objects.bulk_create(
        ItemCase(
            application=application,
            item=p.item,
            unit_id=p.item.unit_id,
            stage=p.stage,
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
            data={"item": case.item.code, "stage": case.stage},
        )
        for case in cases
    )
