"""A proactive invitation followed (主动服务): the invited person opens the bundle from the link,
and the draft starts with what the bureau already knows filled in."""

import uuid

from django.db import transaction

from kuaiban.cases.models import Application
from kuaiban.proactive.models import Invitation
from kuaiban.proactive.services import invitation_started

from .applications import application_start
from .guards import lock_application


@transaction.atomic
def application_start_invited(
    *, applicant, invitation: Invitation, start_key: uuid.UUID | None = None
) -> Application:
    """Open (or reopen) the invited bundle's draft for the invited person, pre-filled. The
    draft the invitation started already, while it is still the person's and editable, is
    given back rather than a second one."""
    earlier = invitation.application
    if earlier is not None and earlier.applicant_id == applicant.pk and earlier.is_editable:
        return earlier
    application = lock_application(
        application_start(applicant=applicant, bundle=invitation.rule.bundle, start_key=start_key)
    )
    # What the bureau knows, for the answers still empty (the form validates them on saving).
    answers = dict(invitation.prefill or {})
    answers.update({code: value for code, value in (application.form_data or {}).items() if value})
    if answers != (application.form_data or {}):
        application.form_data = answers
        application.save(update_fields=["form_data"])
    invitation_started(invitation=invitation, application=application)
    return application
