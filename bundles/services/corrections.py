"""Guided corrections after a return (补正): the applicant changes each returned material or
says why it stays unchanged (未更改，原因：…), and answers a return that carried only a note.
Rule RESUBMIT-CORRECTED: a returned application is resubmitted only when every point of the
latest return is settled (`submission.missing_for_submission` asks `uncorrected`)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.cases.events import record_event
from kuaiban.cases.models import Application, ApplicationState, EventAction, ReturnAnswer
from kuaiban.catalog.models import Material

from ..selectors import RequiredMaterial, ReturnCorrections, return_corrections
from .guards import lock_application, require_editable, require_editor

EXPLANATION_MAX = 1000


def uncorrected(
    application: Application, required: list[RequiredMaterial] | None = None
) -> list[str]:
    """What of the latest return is still unanswered, in words for the applicant naming each
    material (empty unless the application is back with the applicant after a return)."""
    if application.state != ApplicationState.RETURNED:
        return []
    corrections = return_corrections(application, required)
    if corrections is None:
        return []
    problems = [
        _(
            "“%(material)s” was returned for correction: provide it again, or say why it "
            "stays unchanged."
        )
        % {"material": entry.material.name}
        for entry in corrections.outstanding
    ]
    if corrections.note_outstanding:
        problems.append(_("Answer the window's note: say what you corrected."))
    return problems


@transaction.atomic
def return_answer(
    *, application: Application, actor, material: Material | None, explanation: str
) -> ReturnAnswer:
    """Record why a returned material stays unchanged (`material`), or the answer to a return
    that carried only a note (`material` None). A second answer replaces the first; each is
    an event of the application's log."""
    application = lock_application(application)
    require_editor(application, actor)
    require_editable(application)
    explanation = explanation.strip()
    if not explanation:
        raise ValidationError(_("Say why the material stays unchanged."))
    if len(explanation) > EXPLANATION_MAX:
        raise ValidationError(
            _("Keep the explanation to %(limit)d characters.") % {"limit": EXPLANATION_MAX}
        )
    corrections = _corrections_open(application)
    if material is None:
        if not corrections.note_only:
            raise ValidationError(_("Answer for each returned material instead."))
    elif corrections.of(material.pk) is None:
        raise ValidationError(_("The window did not return this material."))
    answer, _created = ReturnAnswer.objects.update_or_create(
        notice=corrections.notice,
        material=material,
        defaults={"explanation": explanation, "created_by": actor, "created_at": timezone.now()},
    )
    record_event(
        application=application,
        action=EventAction.RETURN_ANSWERED,
        actor=actor,
        reason=explanation,
        data={"notice": corrections.notice.pk, "material": material and material.code},
    )
    return answer


def _corrections_open(application: Application) -> ReturnCorrections:
    corrections = (
        return_corrections(application) if application.state == ApplicationState.RETURNED else None
    )
    if corrections is None:
        raise ValidationError(_("The application is not returned for correction."))
    return corrections
