"""Reads of applications: what an application needs (its items, the one form, the one set of
materials), and what an applicant may see. A look-up of something the user may not see returns
None (the view answers 404: others' records do not exist for them)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from kuaiban.cases.models import (
    OPEN_CASE_STATES,
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseEvent,
    CaseState,
    EventAction,
    ItemCase,
    ReturnAnswer,
    ReturnNotice,
    StoredFile,
)
from kuaiban.catalog import tables as catalog_tables
from kuaiban.catalog.models import FormField, Material, ServiceItem
from kuaiban.shareddata.models import FetchStatus, SharedDataRecord
from kuaiban.shareddata.selectors import records_by_material


@dataclass(frozen=True)
class PlannedItem:
    """An item an application will open a case for, and in which stage."""

    item: ServiceItem
    stage: int


def planned_items(application: Application) -> list[PlannedItem]:
    """The items the questionnaire answers include (a single-item application: that item)."""
    if application.item is not None:
        return [PlannedItem(application.item, 1)]
    if application.bundle_id is None:
        return []
    bundle_items = catalog_tables.bundle_items(application.bundle_id)
    answers = application.answers or {}
    return [
        PlannedItem(bundle_item.item, bundle_item.stage)
        for bundle_item in bundle_items
        if bundle_item.applies(answers)
    ]


@dataclass
class RequiredMaterial:
    """One material, asked for once, with every planned item that needs it."""

    material: Material
    items: list[ServiceItem] = field(default_factory=list)
    provided: ApplicationMaterial | None = None
    # What its source answered when shared data was fetched (None: nothing fetched).
    shared_record: SharedDataRecord | None = None
    # Named by the window's latest return (需补正), with what the applicant did since.
    returned: "ReturnedMaterial | None" = None

    @property
    def notice(self) -> str:
        """The one written notice when a commitment may replace this proof (else empty)."""
        return commitment_notice(self.material) if self.material.commitment_allowed else ""

    @property
    def needs_action(self) -> bool:
        """Whether the applicant must still upload it or commit. Shared data is fetched by the
        bureau — unless its source answered that it has no record (rule SHARED-FALLBACK); a
        paper original (a sealed personnel file) is checked at the window instead."""
        material = self.material
        if self.provided is not None or material.physical:
            return False
        return not material.shared_data or self.source_has_no_record

    @property
    def source_has_no_record(self) -> bool:
        record = self.shared_record
        return record is not None and record.status == FetchStatus.NO_RECORD

    @property
    def upload_offered(self) -> bool:
        """The materials page offers an upload: for any proof, and for shared data only when
        its source has no record."""
        return not self.material.shared_data or self.source_has_no_record


def commitment_notice(material: Material) -> str:
    """The one written notice: what is proved, by what, and the liability for a false commitment."""
    return _(
        "Instead of providing “%(material)s”, you may commit in writing that: %(statement)s "
        "The bureau will verify this after deciding (through shared data, an online check, a "
        "visit or a public notice). If the commitment is false, the decision will be revoked, "
        "benefits obtained must be repaid, the false commitment is recorded and you will no "
        "longer be able to use commitments; legal liability may follow."
    ) % {"material": material.name, "statement": material.commitment_text or material.name}


def _planned_item_ids(application: Application, planned: list[PlannedItem] | None) -> list[int]:
    return [p.item.pk for p in (planned_items(application) if planned is None else planned)]


def required_materials(
    application: Application,
    planned: list[PlannedItem] | None = None,
    shared: dict[int, SharedDataRecord] | None = None,
) -> list[RequiredMaterial]:
    """The deduplicated list of materials for the planned items (一套材料); pass `planned` and
    the application's shared-data records by material (`shared`) when the caller has them
    already (a submission reads them once). Two queries at most: what the applicant provided,
    and the shared-data records."""
    links = catalog_tables.item_materials(_planned_item_ids(application, planned))
    if application.channel in (Application.Channel.ONLINE, Application.Channel.PROACTIVE):
        # Rule ONLINE-FORM-REPLACES: the application form itself is what the applicant has just
        # filled in online (or shared data filled in, for a 免申即享 proposal); at the window
        # the clerk may still print it for signing.
        links = [link for link in links if not link.material.replaced_by_online_form]
    provided = {row.material_id: row for row in application.materials.select_related("file")}
    if shared is None:
        shared = records_by_material(application.pk) if application.pk else {}
    by_material: dict[int, RequiredMaterial] = {}
    for link in links:
        entry = by_material.setdefault(
            link.material_id,
            RequiredMaterial(
                link.material,
                provided=provided.get(link.material_id),
                shared_record=shared.get(link.material_id),
            ),
        )
        entry.items.append(link.item)
    return list(by_material.values())


def situation_question_codes(application: Application) -> frozenset[str]:
    """The codes of the questions the application must answer (none for a single item)."""
    if application.bundle_id is None:
        return frozenset()
    return catalog_tables.question_codes(application.bundle_id)


def planned_materials(
    application: Application, planned: list[PlannedItem] | None = None
) -> list[Material]:
    """The materials the planned items need, each once, from the catalog alone (no query)."""
    links = catalog_tables.item_materials(_planned_item_ids(application, planned))
    return list({link.material_id: link.material for link in links}.values())


def required_form_fields(
    application: Application, planned: list[PlannedItem] | None = None
) -> list[FormField]:
    """The fields of the one form: each asked once however many planned items need it."""
    return catalog_tables.form_fields(_planned_item_ids(application, planned))


def _visible_to(applicant) -> QuerySet[Application]:
    """An applicant's own applications; window records only once the account is verified."""
    own = Application.objects.filter(applicant=applicant)
    if not getattr(applicant, "is_verified", False):
        own = own.exclude(channel=Application.Channel.WINDOW)
    return own


def applications_of(applicant) -> QuerySet[Application]:
    """An applicant's applications for the list page: constant queries whatever the count."""
    return (
        _visible_to(applicant)
        .select_related("bundle", "item")
        .annotate(
            case_count=Count("cases", distinct=True),
            concluded_count=Count(
                "cases", filter=Q(cases__state=CaseState.CONCLUDED), distinct=True
            ),
        )
        .order_by("-created_at")
    )


def application_for_applicant(applicant, reference: str) -> Application | None:
    """The applicant's own application (None for anyone else's); its bundle or item from the
    catalog tables."""
    application = _visible_to(applicant).select_related("hall").filter(reference=reference).first()
    if application is None:
        return None
    application.applicant = applicant  # the very account asking: no second read of it
    return catalog_tables.with_catalog(application)


def application_status(application: Application) -> Application:
    """Everything the status page shows, prefetched."""
    return (
        Application.objects.filter(pk=application.pk)
        .select_related("bundle", "item", "hall")
        .prefetch_related(
            Prefetch("cases", queryset=ItemCase.objects.select_related("item", "unit")),
            Prefetch(
                "events",
                queryset=CaseEvent.objects.select_related("item_case__item", "actor").order_by(
                    "at", "id"
                ),
            ),
            Prefetch(
                "materials",
                queryset=ApplicationMaterial.objects.select_related("material", "file"),
            ),
        )
        .get()
    )


def reusable_files(applicant, material_ids) -> dict[int, list[StoredFile]]:
    """The applicant's earlier uploads, by material, newest first (材料复用)."""
    files: dict[int, list[StoredFile]] = {}
    for stored in StoredFile.objects.filter(owner=applicant, material_id__in=material_ids).order_by(
        "-uploaded_at"
    ):
        if stored.material_id is not None:  # filtered by material: always
            files.setdefault(stored.material_id, []).append(stored)
    return files


def file_for_user(user, file_id: int) -> StoredFile | None:
    """A stored file for its owner, a reviewer of a unit handling it, or a clerk of its window
    (None for anyone else, as if the file did not exist)."""
    files = StoredFile.objects.select_related("material")
    if user.is_applicant:
        return files.filter(pk=file_id, owner=user).first()
    uses = ApplicationMaterial.objects.filter(file_id=file_id)
    at_windows = Application.objects.filter(Application.seen_at_windows()).filter(
        Application.taken_in_by(user)
    )
    allowed = uses.filter(
        Q(application__cases__unit_id=user.unit_id, application__cases__unit__isnull=False)
        | Q(application__in=at_windows)
    )
    if not allowed.exists():
        return None
    return files.filter(pk=file_id).first()


# -- the status page's "when" and "what next" -------------------------------------------------


@dataclass(frozen=True)
class CaseOutlook:
    """When an item case will be done, as its applicant reads it."""

    case: ItemCase
    expected: datetime | None  # the committed due time, while the clock runs or is paused
    waiting_for_stage: bool  # a later stage: its clock starts when the earlier one is approved
    paused: bool


@dataclass(frozen=True)
class Outlook:
    cases: list[CaseOutlook]
    # The latest expected time of the cases whose clocks run; None while a stage still waits
    # (its time is not known yet) or nothing runs.
    expected: datetime | None
    later_stages_waiting: bool
    originals: list[Material]  # paper originals to show at the window


def status_outlook(application: Application) -> Outlook:
    """From the prefetched cases and materials of `application_status`: each case's expected
    completion and the application's, and the originals to bring."""
    rows = []
    for case in application.cases.all():
        running = case.state in OPEN_CASE_STATES and case.committed_due_at is not None
        rows.append(
            CaseOutlook(
                case=case,
                expected=case.committed_due_at if running else None,
                waiting_for_stage=case.state == CaseState.WAITING,
                paused=case.paused_since is not None,
            )
        )
    waiting = any(row.waiting_for_stage for row in rows)
    dues = [row.expected for row in rows if row.expected is not None]
    open_application = application.state in (
        ApplicationState.SUBMITTED,
        ApplicationState.ACCEPTED,
        ApplicationState.IN_PROGRESS,
    )
    # Paper originals are never uploaded: the items' physical materials not yet seen at the
    # window.
    seen = {
        held.material_id
        for held in application.materials.all()
        if held.provision == ApplicationMaterial.Provision.AT_WINDOW
    }
    links = catalog_tables.item_materials([row.case.item_id for row in rows])
    links = [link for link in links if link.material.physical]
    originals = list(
        {link.material_id: link.material for link in links if link.material_id not in seen}.values()
    )
    return Outlook(
        cases=rows,
        expected=max(dues) if dues and not waiting and open_application else None,
        later_stages_waiting=waiting and open_application,
        originals=originals if open_application else [],
    )


# What the applicant's timeline shows of each event: its label, and whether its reason is
# written for the applicant (a denial's, a pause's) or is the office's own note (a recompute's
# arithmetic, a request to another department). The sweep's flags and recomputes are not shown.
TIMELINE_HIDDEN = {EventAction.FLAG, EventAction.RECOMPUTE, EventAction.EXTENSION_REQUESTED}
TIMELINE_REASON_SHOWN = {
    EventAction.WITHDRAW,
    EventAction.RETURN,
    EventAction.REFUSE,
    EventAction.DENY,
    EventAction.PAUSE,
    EventAction.STOP,
    EventAction.REVOKE,
}


@dataclass(frozen=True)
class TimelineRow:
    event: CaseEvent
    reason: str


def applicant_timeline(application: Application) -> list[TimelineRow]:
    """The status page's timeline, newest first, in the applicant's words (from the prefetched
    events)."""
    rows = [
        TimelineRow(event, event.reason if event.action in TIMELINE_REASON_SHOWN else "")
        for event in application.events.all()
        if event.action not in TIMELINE_HIDDEN
        and not (event.action == EventAction.EXTENSION_DECIDED and not event.data.get("approved"))
    ]
    rows.reverse()
    return rows


# -- guided corrections (补正) ---------------------------------------------------------------


@dataclass(frozen=True)
class ReturnedMaterial:
    """A material the window returned, and what the applicant did about it since."""

    material: Material
    changed: bool  # provided again (uploaded, reused, committed) after the return
    answer: ReturnAnswer | None  # "unchanged, because …"
    needed: bool = True  # False: the applicant's answers no longer need it

    @property
    def settled(self) -> bool:
        return self.changed or self.answer is not None or not self.needed


@dataclass(frozen=True)
class ReturnCorrections:
    """The latest return of an application and where each of its points stands: the rule
    RESUBMIT-CORRECTED lets the applicant resubmit once every returned material is changed or
    explained, and a return with a note only is answered."""

    notice: ReturnNotice
    materials: list[ReturnedMaterial]
    note_answer: ReturnAnswer | None

    @property
    def note_only(self) -> bool:
        return not self.materials

    @property
    def outstanding(self) -> list[ReturnedMaterial]:
        return [m for m in self.materials if not m.settled]

    @property
    def note_outstanding(self) -> bool:
        return self.note_only and self.note_answer is None

    @property
    def settled(self) -> bool:
        return not self.outstanding and not self.note_outstanding

    def of(self, material_id: int) -> ReturnedMaterial | None:
        return next((m for m in self.materials if m.material.pk == material_id), None)


def return_corrections(
    application: Application, required: list[RequiredMaterial] | None = None
) -> ReturnCorrections | None:
    """The application's latest return with, per returned material, whether it was changed
    since (provided again after the return: ApplicationMaterial.provided_at, which a signed
    commitment also sets) or explained; None when it was never returned. Pass `required` when
    computed already (a material the applicant's answers no longer need is settled)."""
    notice = (
        ReturnNotice.objects.filter(application=application)
        .select_related("created_by")
        .order_by("-created_at", "-id")
        .first()
    )
    if notice is None:
        return None
    answers = {a.material_id: a for a in notice.answers.select_related("created_by")}
    provided = dict(application.materials.values_list("material_id", "provided_at"))
    needed = None if required is None else {e.material.pk for e in required}
    rows = [
        ReturnedMaterial(
            material=material,
            changed=bool(provided.get(material.pk) and provided[material.pk] > notice.created_at),
            answer=answers.get(material.pk),
            needed=needed is None or material.pk in needed,
        )
        for material in notice.materials.order_by("code")
    ]
    return ReturnCorrections(notice=notice, materials=rows, note_answer=answers.get(None))


def mark_returned(
    required: list[RequiredMaterial], corrections: ReturnCorrections | None
) -> list[RequiredMaterial]:
    """Mark each required material the latest return named (the pages show "需补正")."""
    if corrections is not None:
        for entry in required:
            entry.returned = corrections.of(entry.material.pk)
    return required
