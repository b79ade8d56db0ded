"""Service guides under legal review (domain.md §7): every change of an item's or a bundle's guide
is a `GuideVersion`, and only a version approved by the legal-review unit reaches the live row.

The live `ServiceItem` / `Bundle` rows are what the portal and the deadline engine read; they equal
the latest published version, whose number and date they carry (`guide_version`,
`guide_published_at`). A change made through the admin or the workbook is written as usual, then
`hold_for_review` compares the row with what it was, keeps the difference as a draft and puts the
published guide back, all in the caller's transaction: a draft or a returned version never
changes what the public sees. Publishing applies the version's snapshot to the live row in the
same transaction that records the decision.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    Bundle,
    BundleItem,
    BundleQuestion,
    GuideVersion,
    ItemMaterial,
    Material,
    ServiceItem,
)
from .tables import catalog_tables

Subject = ServiceItem | Bundle

# What a guide version holds: the fields the public guide shows and the engine's time limits.
GUIDE_FIELDS = (
    "summary_zh",
    "summary_en",
    "conditions",
    "channel_hall",
    "channel_online",
    "channel_mobile",
    "special_steps",
    "fee",
    "place_and_hours",
    "result_delivery",
    "progress_query",
    "consultation_phone",
    "complaint_channel",
)
ITEM_FIELDS = (
    "kind",
    "statutory_limit",
    "statutory_unit",
    "committed_limit",
    "committed_unit",
    "instant_minutes",
    "extension_allowed",
    "extension_limit",
    "extension_unit",
    "legal_basis",
    "statutory_mode",
    "statutory_mode_reason",
    "visit_target",
    *GUIDE_FIELDS,
)
BUNDLE_FIELDS = GUIDE_FIELDS


def fields_of(model: type[Subject]) -> tuple[str, ...]:
    return ITEM_FIELDS if model is ServiceItem else BUNDLE_FIELDS


# -- snapshots --------------------------------------------------------------------------------


def snapshots(model: type[Subject], ids) -> dict[int, dict[str, Any]]:
    """The guide of each row as a version stores it, by id; two queries however many rows."""
    ids = list(ids)
    found: dict[int, dict[str, Any]] = {}
    for row in model.objects.filter(pk__in=ids).values("pk", *fields_of(model)):
        found[row.pop("pk")] = {"fields": row}
    if model is ServiceItem:
        for snapshot in found.values():
            snapshot["materials"] = []
        links = (
            ItemMaterial.objects.filter(item_id__in=ids)
            .order_by("item_id", "order", "material__code")
            .values_list("item_id", "material__code", "note", "order")
        )
        for item_id, code, note, order in links:
            found[item_id]["materials"].append({"material": code, "note": note, "order": order})
    else:
        for snapshot in found.values():
            snapshot["items"] = []
        bundle_items = (
            BundleItem.objects.filter(bundle_id__in=ids)
            .order_by("bundle_id", "stage", "order", "item__code")
            .values_list(
                "bundle_id", "item__code", "stage", "condition__code", "condition_answer", "order"
            )
        )
        for bundle_id, code, stage, condition, answer, order in bundle_items:
            found[bundle_id]["items"].append(
                {
                    "item": code,
                    "stage": stage,
                    "condition": condition,
                    "condition_answer": answer,
                    "order": order,
                }
            )
    return found


def snapshot_of(subject: Subject) -> dict[str, Any]:
    return snapshots(type(subject), [subject.pk])[subject.pk]


def _apply(subject: Subject, snapshot: dict[str, Any], *, check: bool) -> None:
    """Make the live row say what the snapshot says. `check`: refuse (ValidationError) what
    the catalog no longer allows, e.g. a material cancelled since the proposal."""
    for name, value in snapshot["fields"].items():
        setattr(subject, name, value)
    if check:
        subject.full_clean()
    subject.save()
    if isinstance(subject, ServiceItem):
        _apply_materials(subject, snapshot["materials"], check=check)
    else:
        _apply_bundle_items(subject, snapshot["items"])


def _apply_materials(item: ServiceItem, wanted: list[dict], *, check: bool) -> None:
    codes = [w["material"] for w in wanted]
    materials = {m.code: m for m in Material.objects.filter(code__in=codes)}
    links = {link.material.code: link for link in item.itemmaterial_set.select_related("material")}
    for code, link in links.items():
        if code not in {w["material"] for w in wanted}:
            link.delete()
    for entry in wanted:
        material = materials.get(entry["material"])
        if material is None:
            raise ValidationError(
                _("Material %(code)s no longer exists.") % {"code": entry["material"]}
            )
        if check and material.cancelled:
            raise ValidationError(
                _("Material %(code)s has been cancelled and can never be required again.")
                % {"code": material.code}
            )
        link = links.get(material.code) or ItemMaterial(item=item, material=material)
        if link.pk is None or (link.note, link.order) != (entry["note"], entry["order"]):
            link.note, link.order = entry["note"], entry["order"]
            link.save()


def _apply_bundle_items(bundle: Bundle, wanted: list[dict]) -> None:
    items = {i.code: i for i in ServiceItem.objects.filter(code__in=[w["item"] for w in wanted])}
    questions = {q.code: q for q in BundleQuestion.objects.filter(bundle=bundle)}
    links = {link.item.code: link for link in bundle.bundle_items.select_related("item")}
    for code, link in links.items():
        if code not in {w["item"] for w in wanted}:
            link.delete()
    for entry in wanted:
        item = items.get(entry["item"])
        condition = questions.get(entry["condition"]) if entry["condition"] else None
        if item is None or (entry["condition"] and condition is None):
            raise ValidationError(
                _("Item %(code)s or its condition no longer exists.") % {"code": entry["item"]}
            )
        link = links.get(item.code) or BundleItem(bundle=bundle, item=item)
        values = (entry["stage"], condition, entry["condition_answer"], entry["order"])
        if (
            link.pk is None
            or (
                link.stage,
                link.condition,
                link.condition_answer,
                link.order,
            )
            != values
        ):
            link.stage, link.condition, link.condition_answer, link.order = values
            link.save()


# -- proposing --------------------------------------------------------------------------------


def hold_for_review(
    model: type[Subject],
    before: dict[int, dict[str, Any] | None],
    *,
    proposed_by=None,
    source: str = GuideVersion.Source.ADMIN,
) -> list[GuideVersion]:
    """Keep the guide changes just written to these rows as drafts, and put the published guide
    back. `before`: each row's snapshot before the change (None for a row created by it: it
    stays unpublished until its first version is approved). Returns the drafts written."""
    after = snapshots(model, before)
    drafts = []
    for pk, old in before.items():
        new = after.get(pk)
        if new is None or new == old:
            continue
        subject = model.objects.select_for_update().get(pk=pk)
        drafts.append(_propose(subject, new, proposed_by=proposed_by, source=source))
        if old is None:
            subject.is_published = False
            subject.save(update_fields=["is_published"])
            continue
        try:
            _apply(subject, old, check=False)
        except ValidationError as error:
            # The published guide names a row the same change removed (a bundle's condition).
            raise ValidationError(
                _("%(code)s: the published guide can no longer be kept: %(problem)s")
                % {"code": subject.code, "problem": " ".join(error.messages)}
            ) from error
    return drafts


def _propose(subject: Subject, snapshot: dict, *, proposed_by, source: str) -> GuideVersion:
    """The subject's open draft, now holding this snapshot (one draft per subject)."""
    subject_filter = _subject_filter(subject)
    version = GuideVersion.objects.filter(state=GuideVersion.State.DRAFT, **subject_filter).first()
    if version is None:
        version = GuideVersion(**subject_filter)
    version.snapshot = snapshot
    version.based_on = subject.guide_version
    version.proposed_by = proposed_by
    version.proposed_at = timezone.now()
    version.source = source
    version.save()
    return version


def _subject_filter(subject: Subject) -> dict[str, Subject]:
    return {"item": subject} if isinstance(subject, ServiceItem) else {"bundle": subject}


# -- review -----------------------------------------------------------------------------------


def _locked(version: GuideVersion) -> tuple[GuideVersion, Subject]:
    version = GuideVersion.objects.select_for_update().get(pk=version.pk)
    subject = version.subject_model.objects.select_for_update().get(pk=version.subject_pk)
    return version, subject


def _check_current(version: GuideVersion, subject: Subject) -> None:
    if version.based_on != subject.guide_version:
        raise ValidationError(
            _(
                "A newer version of this guide was published after this change was proposed; "
                "propose the change again."
            )
        )


def _check_state(version: GuideVersion, state: str) -> None:
    if version.state != state:
        raise ValidationError(_("This version was already handled; please refresh."))


@transaction.atomic
def version_submit(*, version: GuideVersion, actor) -> GuideVersion:
    """A draft goes to the legal-review unit."""
    if not actor.proposes_guides:
        raise PermissionDenied
    version, subject = _locked(version)
    _check_state(version, GuideVersion.State.DRAFT)
    _check_current(version, subject)
    version.state = GuideVersion.State.SUBMITTED
    version.submitted_by = actor
    version.submitted_at = timezone.now()
    version.save()
    return version


def _check_reviewer(version: GuideVersion, actor) -> None:
    if not actor.reviews_guides:
        raise PermissionDenied
    if actor.pk in (version.proposed_by_id, version.submitted_by_id):
        raise ValidationError(_("Nobody reviews a change they proposed or submitted."))


@transaction.atomic
def version_approve(*, version: GuideVersion, actor, comments: str = "") -> GuideVersion:
    """The legal-review unit approves: the version gets the next number and is published (its
    snapshot becomes the live guide) in this transaction."""
    version, subject = _locked(version)
    _check_state(version, GuideVersion.State.SUBMITTED)
    _check_reviewer(version, actor)
    _check_current(version, subject)
    now = timezone.now()
    latest = GuideVersion.objects.filter(**_subject_filter(subject)).aggregate(n=Max("number"))
    number = (latest["n"] or 0) + 1
    first_publication = subject.guide_version is None
    _apply(subject, version.snapshot, check=True)
    subject.guide_version, subject.guide_published_at = number, now
    update = ["guide_version", "guide_published_at"]
    if first_publication:
        subject.is_published = True
        update.append("is_published")
    subject.save(update_fields=update)
    version.state = GuideVersion.State.PUBLISHED
    version.number, version.published_at = number, now
    version.reviewed_by, version.reviewed_at, version.comments = actor, now, comments.strip()
    version.save()
    return version


@transaction.atomic
def version_return(*, version: GuideVersion, actor, comments: str) -> GuideVersion:
    """The legal-review unit returns the change with its comments; nothing is published. The
    version stays as it is; a corrected change is proposed as a new draft."""
    if not comments.strip():
        raise ValidationError(_("Say what must change before the guide can be approved."))
    version, _subject = _locked(version)
    _check_state(version, GuideVersion.State.SUBMITTED)
    _check_reviewer(version, actor)
    version.state = GuideVersion.State.RETURNED
    version.reviewed_by, version.reviewed_at = actor, timezone.now()
    version.comments = comments.strip()
    version.save()
    return version


# -- the first version ------------------------------------------------------------------------


def publish_unversioned() -> int:
    """Give every item and bundle without a version number (reference data loaded from the
    fixtures, which carry none) its guide's number: the latest published version when the row
    still says what that version says, else a new version published now (version 1 for a row
    new to the database). Returns how many versions were published."""
    now = timezone.now()
    count = 0
    for model in (ServiceItem, Bundle):
        key = "item_id" if model is ServiceItem else "bundle_id"
        unversioned = model.objects.filter(guide_version__isnull=True)
        ids = list(unversioned.values_list("pk", flat=True))
        if not ids:
            continue
        latest: dict[int, GuideVersion] = {}
        published = GuideVersion.objects.filter(
            state=GuideVersion.State.PUBLISHED, **{f"{key}__in": ids}
        ).order_by("number")
        for version in published:
            latest[getattr(version, key)] = version
        restored: list[Any] = []
        new: list[GuideVersion] = []
        for pk, snapshot in snapshots(model, ids).items():
            found = latest.get(pk)
            if found is not None and found.snapshot == snapshot:
                restored.append(
                    model(pk=pk, guide_version=found.number, guide_published_at=found.published_at)
                )
            else:
                new.append(
                    GuideVersion(
                        **{key: pk},
                        state=GuideVersion.State.PUBLISHED,
                        number=(found.number or 0) + 1 if found else 1,
                        snapshot=snapshot,
                        source=GuideVersion.Source.FIXTURES,
                        proposed_at=now,
                        published_at=now,
                    )
                )
        model.objects.bulk_update(restored, ["guide_version", "guide_published_at"])
        GuideVersion.objects.bulk_create(new)
        for version in new:
            model.objects.filter(pk=getattr(version, key)).update(
                guide_version=version.number, guide_published_at=now
            )
        count += len(new)
    # Bulk writes send no signal: every process's catalog tables, once this commits.
    catalog_tables.invalidate()
    return count
