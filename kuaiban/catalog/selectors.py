"""Reads of the catalog for the public service guides. Query counts do not grow with rows."""

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from .guide_versions import snapshots
from .models import (
    Bundle,
    BundleItem,
    GuideVersion,
    ItemMaterial,
    LifeEvent,
    Material,
    ServiceItem,
    VisitTarget,
    Window,
)


def published_bundles() -> QuerySet[Bundle]:
    return Bundle.objects.filter(is_published=True).select_related("lead_unit", "window")


def published_items() -> QuerySet[ServiceItem]:
    return (
        ServiceItem.objects.filter(is_published=True)
        .select_related("window", "unit")
        .prefetch_related("speedup_entries")
        .order_by("window__code", "code")
    )


# Who a bundle is for, as the guide index groups them: a person's own affairs (个人办事) or an
# employer's (单位办事); a bundle for either is in both.
AUDIENCES = {
    "person": (
        Bundle.Applicant.CITIZEN,
        Bundle.Applicant.FAMILY,
        Bundle.Applicant.CITIZEN_OR_ENTERPRISE,
    ),
    "employer": (
        Bundle.Applicant.ENTERPRISE,
        Bundle.Applicant.INSTITUTION,
        Bundle.Applicant.CITIZEN_OR_ENTERPRISE,
    ),
}


@dataclass
class GuideIndex:
    query: str
    audience: str
    bundles: list[Bundle]
    item_groups: list[tuple[str, list[ServiceItem]]]  # (the window category's label, its items)

    @property
    def bundle_groups(self) -> list[tuple[str, list[Bundle]]]:
        """The bundles by life event (毕业求职, 退休, 身后事 …), in the events' order; bundles
        without one last, under "other"."""
        groups: dict[LifeEvent | None, list[Bundle]] = {}
        for bundle in self.bundles:
            groups.setdefault(bundle.life_event, []).append(bundle)
        events = sorted((e for e in groups if e is not None), key=lambda e: (e.order, e.code))
        ordered = [(e.name, groups[e]) for e in events]
        if None in groups:
            ordered.append((str(_("Other bundles")), groups[None]))
        return ordered

    @property
    def found(self) -> int:
        return len(self.bundles) + sum(len(items) for _label, items in self.item_groups)


def _matching(query: str, *also: str) -> models.Q:
    """Every word of the query in the code or a name (or in the `also` fields)."""
    q = models.Q()
    for word in query.split():
        word_q = models.Q()
        for name in ("code", "name_zh", "name_en", *also):
            word_q |= models.Q(**{f"{name}__icontains": word})
        q &= word_q
    return q


def guide_index(query: str = "", audience: str = "") -> GuideIndex:
    """The guide index: bundles (for a person or an employer, by life event; a word of the life
    event finds its bundles) and items grouped by their
    window's category (社会保险, 就业创业, 人才人事, 劳动关系), those whose code or name holds
    every word of `query`. Two queries whatever the catalog's size."""
    query = " ".join(query.split())[:100]
    audience = audience if audience in AUDIENCES else ""
    bundles = (
        published_bundles()
        .filter(_matching(query, "life_event__name_zh", "life_event__name_en"))
        .select_related("life_event")
        .order_by("code")
    )
    if audience:
        bundles = bundles.filter(applicant__in=AUDIENCES[audience])
    groups: dict[str, list[ServiceItem]] = {}
    labels = dict(Window.Category.choices)
    for item in published_items().filter(_matching(query)):
        groups.setdefault(item.window.category, []).append(item)
    order = [c for c in Window.Category.values if c in groups]
    return GuideIndex(
        query=query,
        audience=audience,
        bundles=list(bundles),
        item_groups=[(str(labels[c]), groups[c]) for c in order],
    )


@dataclass
class GuideMaterial:
    """A material as the applicant meets it: once, with every item that needs it."""

    material: Material
    items: list[ServiceItem] = field(default_factory=list)


def _materials_for(item_materials) -> list[GuideMaterial]:
    by_material: dict[int, GuideMaterial] = {}
    for link in item_materials:
        entry = by_material.setdefault(link.material_id, GuideMaterial(link.material))
        entry.items.append(link.item)
    return sorted(by_material.values(), key=lambda m: m.material.code)


@dataclass
class BundleGuide:
    bundle: Bundle
    stages: list[tuple[int, list[BundleItem]]]
    materials: list[GuideMaterial]

    @property
    def visit_target(self) -> VisitTarget:
        return VisitTarget.of_items(bi.item.visit_target for _, bis in self.stages for bi in bis)


def bundle_guide(code: str) -> BundleGuide | None:
    """The guide of a published bundle (None when there is none by that code)."""
    bundle = (
        published_bundles()
        .prefetch_related(
            Prefetch(
                "bundle_items",
                queryset=BundleItem.objects.select_related(
                    "item__unit", "item__window", "condition"
                ),
            ),
            "questions",
        )
        .filter(code=code)
        .first()
    )
    if bundle is None:
        return None
    stages: dict[int, list[BundleItem]] = {}
    for bundle_item in bundle.bundle_items.all():
        stages.setdefault(bundle_item.stage, []).append(bundle_item)
    links = ItemMaterial.objects.filter(item__bundles=bundle).select_related("material", "item")
    return BundleGuide(bundle, sorted(stages.items()), _materials_for(links))


@dataclass
class ItemGuide:
    item: ServiceItem
    materials: list[GuideMaterial]
    bundles: list[Bundle]


def item_guide(code: str) -> ItemGuide | None:
    """The guide of a published item (None when there is none by that code)."""
    item = (
        published_items()
        .prefetch_related(
            Prefetch("bundles", queryset=Bundle.objects.filter(is_published=True).distinct())
        )
        .filter(code=code)
        .first()
    )
    if item is None:
        return None
    links = ItemMaterial.objects.filter(item=item).select_related("material", "item")
    return ItemGuide(item, _materials_for(links), list(item.bundles.all()))


# -- guide versions under legal review (the staff's reads) ------------------------------------


def _versions() -> QuerySet[GuideVersion]:
    return GuideVersion.objects.select_related(
        "item", "bundle", "proposed_by", "submitted_by", "reviewed_by"
    )


@dataclass
class GuideReviewQueue:
    submitted: list[GuideVersion]  # waiting for the legal-review unit, oldest first
    drafts: list[GuideVersion]  # proposed, not yet submitted
    decided: list[GuideVersion]  # the latest decisions


def guide_review_queue(user, decided: int = 30) -> GuideReviewQueue | None:
    """What the legal-review unit and the administrators see (None for anyone else)."""
    if not (user.reviews_guides or user.proposes_guides):
        return None
    state = GuideVersion.State
    return GuideReviewQueue(
        submitted=list(_versions().filter(state=state.SUBMITTED).order_by("submitted_at", "pk")),
        drafts=list(_versions().filter(state=state.DRAFT).order_by("proposed_at", "pk")),
        decided=list(
            _versions()
            .filter(state__in=[state.PUBLISHED, state.RETURNED])
            .exclude(source__in=[GuideVersion.Source.INITIAL, GuideVersion.Source.FIXTURES])
            .order_by("-reviewed_at", "-pk")[:decided]
        ),
    )


def guide_version_for_staff(user, version_id: int) -> GuideVersion | None:
    if not (user.reviews_guides or user.proposes_guides):
        return None
    return _versions().filter(pk=version_id).first()


@dataclass
class GuideChange:
    """One line of a version's comparison with the guide it would replace."""

    field: str
    label: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def guide_version_diff(version: GuideVersion) -> list[GuideChange]:
    """The version against the guide it replaces: the published guide now, or for a published
    version the one published before it. Every field, changed or not."""
    model, subject_id = version.subject_model, version.subject_pk
    if version.state == GuideVersion.State.PUBLISHED:
        previous = (
            GuideVersion.objects.filter(
                **version.of_same_subject,
                state=GuideVersion.State.PUBLISHED,
                number__lt=version.number,
            )
            .order_by("-number")
            .first()
        )
        before: dict[str, Any] = previous.snapshot if previous else {"fields": {}}
    else:
        before = snapshots(model, [subject_id]).get(subject_id, {"fields": {}})
    after = version.snapshot
    changes = [
        GuideChange(
            name,
            str(getattr(model._meta.get_field(name), "verbose_name", name)),
            _display(model, name, before["fields"].get(name)),
            _display(model, name, value),
        )
        for name, value in after["fields"].items()
    ]
    if model is ServiceItem:
        names = _material_names(before.get("materials", []) + after["materials"])
        label = str(_("materials"))
        changes.append(
            GuideChange(
                "materials",
                label,
                _materials_text(before.get("materials", []), names),
                _materials_text(after["materials"], names),
            )
        )
    else:
        changes.append(
            GuideChange(
                "items",
                str(_("items")),
                _bundle_items_text(before.get("items", [])),
                _bundle_items_text(after["items"]),
            )
        )
    return changes


def _display(model, name: str, value) -> str:
    if value is None or value == "":
        return "—"
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return str(_("yes") if value else _("no"))
    return str(value)


def _material_names(entries: list[dict]) -> dict[str, str]:
    codes = {entry["material"] for entry in entries}
    return dict(Material.objects.filter(code__in=codes).values_list("code", "name_zh"))


def _materials_text(entries: list[dict], names: dict[str, str]) -> str:
    lines = []
    for entry in entries:
        line = f"{entry['material']} {names.get(entry['material'], '')}".strip()
        if entry["note"]:
            line += f"（{entry['note']}）"
        lines.append(line)
    return "\n".join(lines) or "—"


def _bundle_items_text(entries: list[dict]) -> str:
    lines = []
    for entry in entries:
        line = _("stage %(stage)s: %(item)s") % {"stage": entry["stage"], "item": entry["item"]}
        if entry["condition"]:
            answer = _("yes") if entry["condition_answer"] else _("no")
            line += f" ({entry['condition']} = {answer})"
        lines.append(line)
    return "\n".join(lines) or "—"
