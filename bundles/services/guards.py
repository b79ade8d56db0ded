"""Who may act on an application or a case, row locks, and the applicant's messages: the checks
every service of this package makes before it changes anything."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.cases.models import Application, DepartmentRequest, ExtensionRequest, ItemCase
from kuaiban.catalog import tables as catalog_tables
from kuaiban.catalog.models import Bundle
from kuaiban.notifications.services import notify


def lock_application(application: Application) -> Application:
    """The application again, its row locked until the transaction ends (only its own row; the
    bundle or item from the catalog tables). The applicant the caller already holds is kept (on
    an applicant's own pages, the signed-in account itself: not read and decrypted again);
    otherwise it comes in the same query, unlocked."""
    known = Application.applicant.is_cached(application)
    query = Application.objects.select_for_update(of=("self",))
    locked = (query if known else query.select_related("applicant")).get(pk=application.pk)
    if known and locked.applicant_id == application.applicant_id:
        locked.applicant = application.applicant
    return catalog_tables.with_catalog(locked)


def lock_case(case: ItemCase) -> ItemCase:
    return (
        ItemCase.objects.select_for_update().select_related("item", "application").get(pk=case.pk)
    )


def intake_window_id(application: Application) -> int:
    """The window that takes the application in: the bundle's (一窗通办) or the single item's."""
    return application.subject.window_id


def is_window_clerk(application: Application, actor) -> bool:
    """A clerk serving the application's intake window (or standing in for it, INTAKE-FALLBACK)."""
    return (
        actor.role == Role.CLERK
        and Application.objects.filter(Application.taken_in_by(actor), pk=application.pk).exists()
    )


def require_window_clerk(application: Application, actor) -> None:
    if not is_window_clerk(application, actor):
        raise PermissionDenied


def require_owner(application: Application, actor) -> None:
    if application.applicant_id != actor.pk:
        raise PermissionDenied


def require_editor(application: Application, actor) -> None:
    """The applicant; or, for an application taken in person (一窗受理, channel WINDOW), a clerk
    of its window acting on the applicant's behalf."""
    if application.applicant_id == actor.pk:
        return
    if application.channel == Application.Channel.WINDOW and is_window_clerk(application, actor):
        return
    raise PermissionDenied


def require_editable(application: Application) -> None:
    if not application.is_editable:
        raise ValidationError(_("This application has been submitted and can no longer be edited."))


def require_unit_reviewer(case: ItemCase, actor) -> None:
    """A back-office reviewer of the unit handling the case."""
    if actor.role != Role.REVIEWER or actor.unit_id != case.unit_id:
        raise PermissionDenied


def require_addressed_department(request: DepartmentRequest, actor) -> None:
    """The department a request was sent to (its service account, a reviewer of that unit)."""
    if actor.role != Role.REVIEWER or actor.unit_id != request.department_id:
        raise PermissionDenied


def require_extension_decider(request: ExtensionRequest, actor) -> None:
    """Another head of the case's unit, or the city's supervision office (局行风办); never the
    one who asked for the extension (a head asking for their own case's extension included)."""
    if not actor.decides_extensions:
        raise PermissionDenied
    if actor.role == Role.REVIEWER and actor.unit_id != request.item_case.unit_id:
        raise PermissionDenied
    if request.requested_by_id == actor.pk:
        raise ValidationError(
            _(
                "You requested this extension yourself: another head of the unit or the "
                "bureau's supervision office (局行风办) decides it."
            ),
            code="own_extension",
        )


def require_open_to(bundle: Bundle | None, applicant) -> None:
    """A bundle is applied for by the kind of account its applicant type names (a citizen
    cannot start an enterprise's bundle); single items are open to every applicant."""
    if bundle is not None and not bundle.open_to(applicant.role):
        raise ValidationError(
            _(
                "“%(bundle)s” is applied for by: %(who)s. Your account is a %(account)s "
                "account; log in with the right kind of account to apply."
            )
            % {
                "bundle": bundle.name,
                "who": bundle.get_applicant_display(),
                "account": applicant.get_role_display(),
            },
            code="applicant_type",
        )


def notify_applicant(application: Application, subject: str, body: str) -> None:
    """A message to the applicant (in-app, e-mail, SMS through the outbox) linking to the
    application's status page. SMS go to the phone the clerk confirmed at the window, if any."""
    notify(
        recipient=application.applicant,
        phone=application.contact_phone,
        subject=subject,
        body=body,
        link=reverse("applications:status", kwargs={"reference": application.reference}),
    )
