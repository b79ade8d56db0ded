"""The pre-check run on an application (facts gathered, rules evaluated), its findings stored at
submission, and the clerk's verdict on a finding."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.cases.models import Application, ApplicationMaterial, ApplicationState
from kuaiban.process_tables import ProcessTables
from kuaiban.shareddata.models import FetchStatus, SharedDataRecord

from .models import PrecheckFinding, PrecheckRule, PrecheckVerdict
from .rules import AFTER_SUBMISSION, Facts, Finding, RuleKind, RuleSpec, Severity, evaluate
from .text import stored_text

# Applications that are still being handled: a second one for the same thing is a duplicate.
OPEN_STATES = (
    ApplicationState.SUBMITTED,
    ApplicationState.RETURNED,
    ApplicationState.ACCEPTED,
    ApplicationState.IN_PROGRESS,
)


def rules_for(application: Application, items: Iterable[str] | None = None) -> list[PrecheckRule]:
    """The enabled rules that apply: of the application's bundle, of one of its items (`items`:
    the planned items' codes, from the caller; by default the single item applied for), or of
    every application. No query: the rules are kept per process (`enabled_rules`)."""
    if items is None:
        items = [application.item.code] if application.item else []
    codes = set(items)
    return [
        r
        for r in enabled_rules()
        if r.bundle_id in (None, application.bundle_id) and (r.item is None or r.item.code in codes)
    ]


precheck_tables = ProcessTables("precheck")


def enabled_rules() -> tuple[PrecheckRule, ...]:
    """Every enabled rule by code, with its item (kept per process until a rule is edited)."""

    def build() -> tuple[PrecheckRule, ...]:
        rules = PrecheckRule.objects.filter(enabled=True).select_related("item")
        return tuple(rules.order_by("code"))

    return precheck_tables.get("enabled", build)


def facts_for(
    application: Application,
    rules: list[PrecheckRule],
    shared_records: Iterable[SharedDataRecord] | None = None,
) -> Facts:
    """What the rules read: the form, the shared data fetched for the application (found), the
    applicant's ID number and, when a rule asks, the applicant's other open applications of the
    same bundle or item. One query for the shared data (none when the caller has read the
    application's records: `shared_records`), one for duplicates (when asked)."""
    if shared_records is None:
        shared_records = SharedDataRecord.objects.filter(application=application)
    shared: dict[str, dict] = {}
    found = [r for r in shared_records if r.status == FetchStatus.FOUND]
    for record in sorted(found, key=lambda r: r.pk):
        shared.setdefault(record.kind, {}).update(record.facts or {})
    duplicates: tuple[tuple[str, dict], ...] = ()
    if any(r.kind == RuleKind.DUPLICATE_OPEN_APPLICATION for r in rules):
        # The applicant's open applications (a handful), the same service picked out here: with
        # the bundle in the WHERE clause PostgreSQL also reads the bundle's index, whose entries
        # grow with every application of that bundle (3.5 ms at a million cases, not 0.1).
        others = (
            Application.objects.filter(applicant_id=application.applicant_id, state__in=OPEN_STATES)
            .exclude(pk=application.pk)
            .order_by("submitted_at", "pk")
            .values_list("bundle_id", "item_id", "reference", "form_data")
        )
        same_service = (
            application.bundle_id,
            None if application.bundle_id else application.item_id,
        )
        duplicates = tuple(
            (reference, form_data)
            for bundle_id, item_id, reference, form_data in others
            if (bundle_id, None if bundle_id else item_id) == same_service
        )
    return Facts(
        form=application.form_data or {},
        shared=shared,
        applicant_id_number=(application.applicant.resident_id or "").upper(),
        today=timezone.localdate(),
        open_applications=duplicates,
    )


def precheck_run(
    application: Application,
    items: Iterable[str] | None = None,
    shared_records: Iterable[SharedDataRecord] | None = None,
) -> list[Finding]:
    """The pre-check's findings on the application as it stands (nothing stored). The kinds
    that read the uploads (OCR) are left to `material_precheck`, after submission."""
    rules = [r for r in rules_for(application, items) if r.kind not in AFTER_SUBMISSION]
    if not rules:
        return []
    return evaluate(_specs(rules), facts_for(application, rules, shared_records))


def reads_uploads(application: Application, items: Iterable[str], uploaded: Iterable[str]) -> bool:
    """Whether a rule that reads uploaded materials (OCR) applies to the application's items
    and names one of the `uploaded` material codes (no query): the submission then queues
    `material_precheck` once it commits."""
    rules = [r for r in rules_for(application, items) if r.kind in AFTER_SUBMISSION]
    return bool(_material_codes(rules) & set(uploaded))


def _material_codes(rules: Iterable[PrecheckRule]) -> set[str]:
    return {str((r.params or {}).get("material", "")) for r in rules}


def _specs(rules: list[PrecheckRule]) -> list[RuleSpec]:
    return [
        RuleSpec(r.code, r.kind, r.severity, r.explanation_zh, r.explanation_en, r.params, r.pk)
        for r in rules
    ]


def findings_record(application: Application, findings: list[Finding]) -> list[PrecheckFinding]:
    """Store the warnings and flags of a submission (in its transaction): one INSERT, none
    when nothing fired. A block never gets here (it refuses the submission)."""
    kept = [f for f in findings if f.severity != Severity.BLOCK and f.key is not None]
    if not kept:
        return []
    now = timezone.now()
    return PrecheckFinding.objects.bulk_create(
        PrecheckFinding(
            application=application,
            rule_id=f.key,  # type: ignore[misc]  # None filtered out above
            severity=f.severity,
            field=f.field,
            message_zh=f.message_zh,
            message_en=f.message_en,
            created_at=now,
        )
        for f in kept
    )


def material_rules(application: Application) -> list[PrecheckRule]:
    """The application's enabled rules that read uploaded materials (OCR), for its items."""
    items = application.cases.values_list("item__code", flat=True)
    return [r for r in rules_for(application, list(items)) if r.kind in AFTER_SUBMISSION]


def uploads_read(application: Application, rules: list[PrecheckRule]):
    """The application's uploaded materials the rules name."""
    return application.materials.filter(
        material__code__in=_material_codes(rules), provision=ApplicationMaterial.Provision.UPLOAD
    )


def material_precheck(application_id: int) -> list[PrecheckFinding]:
    """The rules that read uploaded materials, run on a submitted application: the text of
    each uploaded material a rule names is extracted (OCR or PDF text, slow: called by the
    task `precheck.material_precheck` after the submission committed, never in its
    transaction) and compared with the form; the findings are stored like the submission's
    (append-only), once per rule and submission. The text is not kept. Returns what it stored."""
    application = Application.objects.filter(pk=application_id).first()
    if application is None or application.submitted_at is None:
        return []
    rules = material_rules(application)
    uploaded = uploads_read(application, rules).select_related("material", "file")
    # Outside any transaction: the extraction takes seconds per document.
    texts = {m.material.code: stored_text(m.file) for m in uploaded if m.file is not None}
    if not texts:
        return []
    findings = evaluate(
        _specs(rules), Facts(form=application.form_data or {}, material_texts=texts)
    )
    # Once per submission: a task delivered twice (or retried) stores nothing more.
    already = set(
        PrecheckFinding.objects.filter(
            application=application, created_at__gte=application.submitted_at
        ).values_list("rule_id", flat=True)
    )
    return findings_record(application, [f for f in findings if f.key not in already])


def finding_review(*, finding: PrecheckFinding, actor, agreed: bool) -> PrecheckVerdict:
    """The clerk's verdict on a finding (agree / disagree), recorded with who and when; a later
    verdict replaces an earlier one in the figures."""
    if not actor.is_authenticated:
        raise ValidationError(_("Sign in to record a verdict."))
    return PrecheckVerdict.objects.create(finding=finding, agreed=agreed, by=actor)
