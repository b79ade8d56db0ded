"""Reads of the verifications: the unit's queue, one check for its staff, the applicant's
hearings, and the supervision figures (by unit and by material: opened, done on time, found
false), each one grouped query over the checks themselves (a few thousand rows a year)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import Application
from kuaiban.catalog.models import Material, Unit

from .models import (
    CheckState,
    CommitmentBar,
    CommitmentCheck,
    HearingNotice,
    HearingState,
    RepaymentOrder,
)


def bar_message(bar: CommitmentBar) -> str:
    """What the applicant (and the clerk at the window) is told: why, since when, until when."""
    values = {
        "since": timezone.localtime(bar.starts_at).strftime("%Y-%m-%d"),
        "reason": bar.reason,
    }
    if bar.until:
        return _(
            "You may not replace proofs by commitments until %(until)s (since %(since)s): "
            "%(reason)s. Please provide the documents themselves."
        ) % {**values, "until": bar.until.isoformat()}
    return (
        _(
            "You may not replace proofs by commitments (since %(since)s): %(reason)s. Please "
            "provide the documents themselves."
        )
        % values
    )


def active_bar(person: User | None, today: date | None = None) -> CommitmentBar | None:
    """The bar in force on the person, if any (the one ending last; NULL, no end, sorts last)."""
    if person is None or person.pk is None:
        return None
    today = today or timezone.localdate()
    return (
        CommitmentBar.objects.filter(CommitmentBar.active_q(today), person=person)
        .order_by("until")
        .last()
    )


# -- the unit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    check: CommitmentCheck
    colour: str  # "overdue", "late" (75% passed), "" otherwise


def _colour(check: CommitmentCheck, now: datetime) -> str:
    if now > check.due_at:
        return "overdue"
    if now > check.warn_75_at:
        return "late"
    return ""


def checks_of_unit(reviewer, *, now: datetime | None = None) -> list[CheckRow]:
    """The unit's verifications that need a step, by due time (one query): open ones, those
    whose hearing waits for the applicant or the head, those with a repayment not yet paid."""
    now = now or timezone.now()
    unpaid = RepaymentOrder.objects.filter(check_row=OuterRef("pk"), paid_at__isnull=True)
    checks = (
        CommitmentCheck.objects.filter(unit_id=reviewer.unit_id)
        .filter(
            Q(state=CheckState.OPEN)
            | Q(
                state=CheckState.FOUND_FALSE,
                hearing__state__in=(HearingState.SENT, HearingState.RESPONDED),
            )
            | Q(Exists(unpaid))
        )
        .select_related("application", "material", "owner", "hearing")
        .order_by("due_at", "id")
    )
    return [CheckRow(c, _colour(c, now) if c.is_open else "") for c in checks]


def bars_of_unit(reviewer, today: date | None = None) -> QuerySet[CommitmentBar]:
    """The bars in force that the unit decided (its head may lift one, from its check)."""
    today = today or timezone.localdate()
    return (
        CommitmentBar.objects.filter(
            CommitmentBar.active_q(today), check_row__unit_id=reviewer.unit_id
        )
        .select_related("check_row__application", "person")
        .order_by("-starts_at")
    )


def check_for_staff(user, check_id: int) -> CommitmentCheck | None:
    """One of the unit's verifications with its steps and what followed; None for anyone
    else."""
    if user.role != Role.REVIEWER or not user.unit_id:
        return None
    checks = CommitmentCheck.objects.filter(pk=check_id, unit_id=user.unit_id)
    return (
        checks.select_related(
            "application__applicant",
            "item_case__item",
            "material",
            "owner",
            "evidence",
            "commitment",
            "hearing",
        )
        .prefetch_related(
            "events__actor",
            Prefetch("repayments", queryset=RepaymentOrder.objects.order_by("ordered_at")),
            "bars",
        )
        .first()
    )


# -- the applicant -------------------------------------------------------------------------------


def hearings_of(application: Application) -> QuerySet[HearingNotice]:
    """The hearing notices about this application's commitments, for its status page."""
    return (
        HearingNotice.objects.filter(check_row__application=application)
        .select_related("check_row__material")
        .order_by("sent_at")
    )


def hearings_awaiting(person: User) -> QuerySet[HearingNotice]:
    """The notices this applicant has still to answer (陈述申辩), for the start page's 我的待办."""
    return HearingNotice.objects.filter(
        check_row__application__applicant=person, state=HearingState.SENT
    ).select_related("check_row__application")


# -- supervision ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckFigures:
    """One line of the figures: `label` names the unit or the material."""

    label: str
    opened: int
    done_on_time: int
    done_late: int
    open_overdue: int
    found_false: int


def _figures(
    checks: QuerySet[CommitmentCheck], group: str, names: dict[int, str], now: datetime
) -> list[CheckFigures]:
    rows = (
        checks.values(group)
        .annotate(
            opened=Count("id"),
            done_on_time=Count("id", filter=Q(concluded_at__lte=F("due_at"))),
            done_late=Count("id", filter=Q(concluded_at__gt=F("due_at"))),
            open_overdue=Count("id", filter=Q(state=CheckState.OPEN, due_at__lt=now)),
            found_false=Count("id", filter=Q(state=CheckState.FOUND_FALSE)),
        )
        .order_by(group)
    )
    return [
        CheckFigures(
            names.get(row[group], ""),
            row["opened"],
            row["done_on_time"],
            row["done_late"],
            row["open_overdue"],
            row["found_false"],
        )
        for row in rows
    ]


def check_figures(
    *, district_id: int | None = None, now: datetime | None = None
) -> dict[str, list[CheckFigures]]:
    """By unit and by material, of the whole city or of one district's halls (four queries,
    whatever the number of checks). Opened: every check; done on time: concluded by its due
    time; done late; open and overdue; found false (after a hearing that cleared it, no more)."""
    now = now or timezone.now()
    checks = CommitmentCheck.objects.all()
    if district_id:
        checks = checks.filter(application__hall__district_id=district_id)
    units = {u.pk: u.name for u in Unit.objects.filter(pk__in=checks.values("unit_id"))}
    materials = {m.pk: m.name for m in Material.objects.filter(pk__in=checks.values("material_id"))}
    return {
        "units": _figures(checks, "unit_id", units, now),
        "materials": _figures(checks, "material_id", materials, now),
    }
