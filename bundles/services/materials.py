"""The one set of materials (一套材料): each document asked for once whatever number of items
need it, provided by upload, by reuse of an earlier upload (材料复用), by a signed commitment
instead of the proof (告知承诺制), or seen in the original at the window."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.cases import uploads
from kuaiban.cases.events import record_event
from kuaiban.cases.models import (
    Application,
    ApplicationMaterial,
    Commitment,
    EventAction,
    StoredFile,
)
from kuaiban.catalog.models import Material
from kuaiban.commitments.selectors import active_bar, bar_message

from ..selectors import RequiredMaterial, commitment_notice, required_materials
from .guards import lock_application, require_editable, require_editor


def _needed_material(application: Application, material: Material) -> RequiredMaterial:
    for entry in required_materials(application):
        if entry.material.pk == material.pk:
            return entry
    raise ValidationError(_("This application does not need that material."))


def provide(
    application: Application,
    material: Material,
    provision: str,
    *,
    file: StoredFile | None = None,
    reused: bool = False,
) -> ApplicationMaterial:
    """Record how the material is provided (inside the caller's transaction); a commitment
    signed for it before is dropped when the proof itself comes."""
    if provision != ApplicationMaterial.Provision.COMMITMENT:
        application.commitments.filter(material=material).delete()
    previous = application.materials.filter(material=material).values_list("file_id", flat=True)
    replaced = previous.first()
    provided, _created = ApplicationMaterial.objects.update_or_create(
        application=application,
        material=material,
        defaults={
            "provision": provision,
            "file": file,
            "reused": reused,
            "provided_at": timezone.now(),
        },
    )
    if replaced and replaced != provided.file_id:
        # The replaced document goes from storage once this commits (kept if reused elsewhere).
        uploads.discard_unused([replaced])
    return provided


def provide_shared(application: Application, materials: list[Material]) -> None:
    """Record the shared-data materials (共享数据, fetched by the bureau itself) not provided yet,
    in one statement (inside the caller's transaction, the application locked)."""
    if not materials:
        return
    application.commitments.filter(material__in=materials).delete()
    now = timezone.now()
    ApplicationMaterial.objects.bulk_create(
        ApplicationMaterial(
            application=application,
            material=material,
            provision=ApplicationMaterial.Provision.SHARED,
            provided_at=now,
        )
        for material in materials
    )


@transaction.atomic
def material_upload(
    *, application: Application, actor, material: Material, upload
) -> ApplicationMaterial:
    """Store an uploaded document once for the application; every item needing it shares it."""
    application = lock_application(application)
    require_editor(application, actor)
    require_editable(application)
    _needed_material(application, material)
    # The file is the applicant's, also when a clerk scans it at the window.
    owner = application.applicant
    if StoredFile.objects.filter(owner=owner).count() >= uploads.max_files_per_applicant():
        raise ValidationError(_("You have reached the maximum number of uploaded files."))
    stored = uploads.store(owner=owner, material=material, upload=upload)
    return provide(application, material, ApplicationMaterial.Provision.UPLOAD, file=stored)


@transaction.atomic
def material_reuse(*, application: Application, actor, material: Material, stored_file: StoredFile):
    """Use a document the applicant uploaded for an earlier application (材料复用)."""
    application = lock_application(application)
    require_editor(application, actor)
    require_editable(application)
    _needed_material(application, material)
    if stored_file.owner_id != application.applicant_id or stored_file.material_id != material.pk:
        raise ValidationError(_("That file cannot be used for this material."))
    # Locked against its discarding by another draft at the same moment.
    if not StoredFile.objects.select_for_update().filter(pk=stored_file.pk).exists():
        raise ValidationError(_("That file is no longer available; please upload it again."))
    return provide(
        application, material, ApplicationMaterial.Provision.UPLOAD, file=stored_file, reused=True
    )


@transaction.atomic
def material_commit(
    *, application: Application, actor, material: Material, signed_name: str, agreed: bool
) -> Commitment:
    """Replace a proof by a signed commitment (告知承诺制), where the catalog allows it. The
    applicant must have read the one written notice and agreed to it (`agreed`)."""
    application = lock_application(application)
    require_editor(application, actor)
    require_editable(application)
    _needed_material(application, material)
    if not material.commitment_allowed:
        raise ValidationError(_("This material cannot be replaced by a commitment."))
    if not agreed:
        raise ValidationError(_("The applicant must read the notice and agree to the commitment."))
    # The applicant commits and signs, also when a clerk records it at the window.
    applicant = application.applicant
    if bar := active_bar(applicant):
        raise ValidationError(bar_message(bar))
    if signed_name.strip() != (applicant.real_name or "").strip():
        raise ValidationError(_("Sign with your real name as registered."))
    provide(application, material, ApplicationMaterial.Provision.COMMITMENT)
    commitment, _created = Commitment.objects.update_or_create(
        application=application,
        material=material,
        defaults={
            "notice_text": commitment_notice(material),
            "commitment_text": material.commitment_text or material.name_zh,
            "signed_name": signed_name.strip(),
            "signed_at": timezone.now(),
        },
    )
    record_event(
        application=application,
        action=EventAction.COMMITMENT_SIGNED,
        actor=actor,
        data={"material": material.code},
    )
    return commitment


@transaction.atomic
def material_seen_at_window(
    *, application: Application, actor, material: Material
) -> ApplicationMaterial:
    """The clerk has seen the original at the window (现场核验): the material counts as provided.
    A scan uploaded for it before stays attached to it."""
    application = lock_application(application)
    if actor.role != Role.CLERK:
        raise PermissionDenied
    require_editor(application, actor)
    require_editable(application)
    _needed_material(application, material)
    existing = application.materials.filter(material=material).first()
    return provide(
        application,
        material,
        ApplicationMaterial.Provision.AT_WINDOW,
        file=existing.file if existing else None,
        reused=existing.reused if existing and existing.file_id else False,
    )
