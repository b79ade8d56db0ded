"""Realistic history for the demo and the benchmarks, written in bulk.

`history_generate(cases=N)` adds generated applicants, applications (bundles with the items their
questionnaire answers include, and single items), exactly N item cases with clocks planned by the
real catalog policy over the real working calendar (`deadlines.plan_clock` on the pure
`WorkCalendar`), outcomes (mostly on time; some late, beyond the statutory limit, denied, refused
at intake or withdrawn; some in statutory mode, some paused, some waiting for another department),
handling times, fired flags and a few events per application, over the last `years` years. The
generated staff who accept and decide (two reviewers per unit, three clerks) are reused by later
runs.

Every application is simulated from its creation and cut at `now`: what would happen after `now`
has not happened yet. A share (`open_share`) of the applications is open now: accepted within its
handling time before `now`, with at least one item counted in days (what is open at any moment is
the work that takes days; instant items are done within the half hour), so its clocks run with
thresholds around `now`. Fewer cases than that share run a clock: a bundle also holds decided
instant items and later stages that wait. Thresholds that passed more than `sweep_lag` ago have
fired (flag row, flag event, fired time, index key moved on); those within the lag are left for
the next sweep.

The stored facts are the ones the services and the sweep would write, computed by the same pure
functions, so the generator cannot drift from the rules: clocks by `deadlines.plan_clock`,
`statutory_plan` and (a pause) `shift_plan`; handling times by `deadlines.handling_time`; flags in
the order of `clocks.THRESHOLDS`, each with its `CaseFlag` and its `flag` event
(`clocks.flag_event_facts`); references by `references.reference_number`; event actions are
`EventAction` members. `next_flag_at` is the earliest unfired threshold of a running clock and
NULL otherwise. It writes the events of the application's journey and of each case's clock, not
every per-case transition event the services write.

好差评 (`_Feedback`, at the rates of the table `CASE_RATED_SHARE` … `JUSTIFIED_SHARES`, from a
random stream of its own so that a seed's cases do not change): ratings of concluded item cases
and of concluded bundles as a whole, within the rating period (`rating_open_until`), with the
dimensions of the application's channel (`dimensions_for`); a follow-up for every bad review
(unit: `responsible_unit_id`) and for every case whose overdue flag fired (opened with the flag,
as the sweep's `followups_open_for_overdue`), its clock by `followups.followup_clock` (moved by
`dues_after_appeal` when an appeal is rejected, decided by `appeal_due`), its steps (verified,
appealed and decided, answered, rectification rated) and its flags as `followups_sweep` fires
them, each with its `FollowUpEvent`, and `next_flag_at` by `followups.next_flag`.

On PostgreSQL the rows go in with COPY (`kuaiban.pgcopy`) in chunks of about `chunk` item cases
(with their applications, events, flags, ratings and follow-ups), one transaction each, written
by a background thread on its own connection while the next chunk is generated (inline when
called inside a transaction), with ids reserved from the tables' sequences; then ANALYZE.
Elsewhere (SQLite, the demo) `bulk_create`. Encrypted columns (the form answers, a rating's
comment, a follow-up's contact note) hold what their field stores, each generated text
encrypted once.
Generated people are never real: identity numbers are random with valid check characters and are
stored encrypted like any other; passwords are unusable.
"""

from __future__ import annotations

import queue
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone, translation

from kuaiban.accounts.crypto import EncryptedTextField
from kuaiban.accounts.identity import (
    CREDIT_ALPHABET,
    credit_code_check_char,
    resident_id_check_char,
)
from kuaiban.accounts.models import Role, User
from kuaiban.cases import deadlines
from kuaiban.cases.clocks import THRESHOLDS, flag_event_facts
from kuaiban.cases.models import (
    RUNNING_CLOCK_STATES,
    Application,
    ApplicationState,
    CaseEvent,
    CasePause,
    CaseState,
    DepartmentRequest,
    EventAction,
    FlagKind,
    ItemCase,
)
from kuaiban.cases.references import REFERENCE_ALPHABET, SUFFIX_LENGTH, reference_number
from kuaiban.cases.visits import visit_target_for
from kuaiban.catalog.models import (
    Bundle,
    BundleItem,
    District,
    ServiceHall,
    ServiceItem,
    SpeedUpEntry,
    Unit,
)
from kuaiban.pgcopy import CopyTable, copy_rendered
from kuaiban.ratings.followups import (
    THRESHOLDS as FOLLOW_UP_THRESHOLDS,
)
from kuaiban.ratings.followups import (
    appeal_due,
    clock_fields,
    dues_after_appeal,
    followup_clock,
    followup_policy,
    next_flag,
    responsible_unit_id,
)
from kuaiban.ratings.models import (
    Channel,
    Finding,
    FollowUp,
    FollowUpAction,
    FollowUpEvent,
    FollowUpKind,
    FollowUpState,
    Grade,
    Rating,
    RatingPolicy,
)
from kuaiban.ratings.selectors import dimensions_for, rating_open_until
from kuaiban.workdays.arithmetic import WorkCalendar
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.units import LimitUnit
from speedup.models import CaseFlag

# -- proportions (per application, then per case) -------------------------------------------
BUNDLE_SHARE = 0.35  # applications for a bundle; the rest are single items
WINDOW_SHARE = 0.4  # applications made at a window; the rest online
REFUSED_SHARE = 0.02  # refused at intake
WITHDRAWN_EARLY_SHARE = 0.01  # withdrawn before intake
WITHDRAWN_LATE_SHARE = 0.01  # withdrawn while being handled
DENIED_SHARE = 0.04
LATE_SHARE = 0.06  # decided after the committed due time
BREACH_SHARE = 0.005  # decided after the statutory due time as well
STATUTORY_MODE_SHARE = 0.03  # of time-limited cases with a statutory limit
PAUSE_SHARE = 0.03  # of cases counted in days
AWAITING_SHARE = 0.12  # of open time-limited cases: waiting for another department
CITIZEN_SHARE = 0.85  # of generated applicants
REVIEWERS_PER_UNIT = 2
CLERKS = 3
OFFICE_DAY_MINUTES = 420  # for rough spans only; the arithmetic uses the configured hours

# -- 好差评: ratings of the concluded cases and the follow-ups --------------------------------
# The order of magnitude a city's 好差评 platform reports: most concluded cases rated, almost all
# 非常满意, about 2% bad reviews (grades 1–2); every bad review and every case whose overdue flag
# fired is followed up, nearly always verified within its day and answered within its time.
CASE_RATED_SHARE = 0.65  # of concluded item cases: rated by their applicant
WHOLE_RATED_SHARE = 0.40  # of concluded bundle applications: also rated as a whole
GRADE_SHARES = ((5, 0.86), (4, 0.08), (3, 0.04), (2, 0.015), (1, 0.005))  # overall grade
DIMENSION_OFF_SHARE = 0.2  # a dimension (per the channel) one grade off the overall grade
RATING_DELAYS = (  # (share, earliest, latest) after the conclusion; all within the period
    (0.5, timedelta(minutes=2), timedelta(hours=1)),  # the window's pad, or online at once
    (0.3, timedelta(hours=1), timedelta(days=1)),
    (0.2, timedelta(days=1), timedelta(days=6)),  # later, mostly by the SMS link
)
SMS_LINK_SHARE = 0.07  # of ratings: by the SMS link; the rest on the application's channel…
HOTLINE_SHARE = 0.01  # …but these, by a 12345 call, typed in by a clerk
NAMED_SHARE = 0.3  # of raters: let the unit see who they are
BAD_COMMENT_SHARE = 0.7  # of bad reviews: with a short generic comment (the rest: none)
VERIFIED_LATE_SHARE = 0.03  # of follow-ups: verified after the verify time (the next day)
ANSWERED_LATE_SHARE = 0.05  # of follow-ups: answered after the answer time…
ESCALATED_SHARE = 0.15  # …of which only after the escalation
RECTIFICATION_RATED_SHARE = 0.5  # of answered bad reviews: the rater rates the rectification
RECTIFICATION_GRADE_SHARES = ((5, 0.5), (4, 0.25), (3, 0.13), (2, 0.08), (1, 0.04))
APPEAL_SHARE = 0.03  # of bad reviews: appealed by the unit after verifying
APPEAL_UPHELD_SHARE = 0.4  # of appeals: upheld by the supervision office
JUSTIFIED_SHARES = {FollowUpKind.BAD_REVIEW: 0.55, FollowUpKind.MISSED_DEADLINE: 0.9}

DEFAULT_SWEEP_LAG = timedelta(minutes=60)
CHUNK_CASES = 20_000  # item cases per chunk (with their applications, events, flags: ~50k rows)
USERNAME_PREFIX = "gen-hist-"


def history_present() -> bool:
    """Whether generated history was added already (its generated accounts exist)."""
    return User.objects.filter(username__startswith=USERNAME_PREFIX).exists()


_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏建文辉力宇浩然欣怡晨阳子涵"
_DENIAL_REASONS = (
    "经核查，不符合办理条件",
    "申请人不属于本事项的适用对象",
    "核验的参保信息与申请内容不一致",
)
_STATUTORY_REASONS = ("需现场核查", "情况特别复杂，需集体研究")
# Generated 好差评 texts: generic, never about a person.
_BAD_COMMENTS = ("等待时间较长", "办理进度不够清楚", "材料要求没有一次说清")
_CONTACT_NOTE = "电话回访，核实了办理经过"
_RECTIFICATIONS = {
    Finding.JUSTIFIED: "已提醒相关人员并改进办理流程",
    Finding.NOT_JUSTIFIED: "已按规定时限和流程办理，已作说明",
}
_ANSWERS = {
    Finding.JUSTIFIED: "感谢您的评价，我们已整改，欢迎再次评价。",
    Finding.NOT_JUSTIFIED: "感谢您的评价，已向您说明办理情况。",
}
_APPEAL_REASON = "经核查，评价内容与本事项办理情况不符，申请复核"
_APPEAL_NOTES = {
    True: "经复核，评价与办理事实不符，申诉成立",
    False: "经复核，申诉理由不充分，继续整改答复",
}


@dataclass
class HistoryResult:
    applicants: int = 0
    staff: int = 0
    applications: int = 0
    cases: int = 0
    running: int = 0
    events: int = 0
    flags: int = 0
    pauses: int = 0
    department_requests: int = 0
    ratings: int = 0
    follow_ups: int = 0
    follow_up_events: int = 0
    seconds: float = 0.0


# -- catalog snapshot --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    id: int
    code: str
    unit_id: int
    policy: deadlines.LimitPolicy
    statutory_unit: str
    legal_basis: str
    span_days: float  # rough calendar days of the committed (or statutory-mode) limit
    visit_target: str

    @property
    def instant(self) -> bool:
        return self.policy.instant

    @property
    def day_clock(self) -> bool:
        """Counted in days (a pause or another department makes sense)."""
        return not self.policy.instant and self.policy.committed_unit in (
            LimitUnit.WORKING_DAYS,
            LimitUnit.CALENDAR_DAYS,
        )

    @property
    def can_go_statutory(self) -> bool:
        return (
            self.day_clock
            and not self.policy.statutory_mode
            and bool(self.policy.statutory_limit)
            and self.policy.statutory_unit != LimitUnit.NONE
        )


def _span_days(policy: deadlines.LimitPolicy) -> float:
    if policy.instant:
        return 0.2
    limit, unit = policy.committed_limit, policy.committed_unit
    if policy.statutory_mode and policy.statutory_limit:
        limit, unit = policy.statutory_limit, policy.statutory_unit
    if not limit or unit == LimitUnit.NONE:
        return 5.0
    return limit * (1.45 if unit == LimitUnit.WORKING_DAYS else 1.0) + 0.5


@dataclass
class _BundleSpec:
    id: int
    applicant: str
    questions: list[str]
    # (item, stage, condition question code or None, answer that includes it)
    entries: list[tuple[_Item, int, str | None, bool]]
    lead_unit_id: int  # who answers a bad review of the whole application


@dataclass
class _Catalog:
    items: dict[int, _Item]
    bundles: list[_BundleSpec]
    singles: list[_Item]
    halls: list[int]
    hall_codes: dict[int, str]
    external_units: list[tuple[int, str]]  # (id, code)
    regions: list[str]

    @classmethod
    def load(cls) -> _Catalog:
        items = {}
        for item in ServiceItem.objects.all():
            policy = deadlines.LimitPolicy.of(item)
            items[item.pk] = _Item(
                id=item.pk,
                code=item.code,
                unit_id=item.unit_id,
                policy=policy,
                statutory_unit=item.statutory_unit,
                legal_basis=item.legal_basis or "相关规定",
                span_days=_span_days(policy),
                visit_target=item.visit_target,
            )
        bundles = []
        for bundle in Bundle.objects.prefetch_related("questions").order_by("code"):
            entries = [
                (
                    items[bi.item_id],
                    bi.stage,
                    bi.condition.code if bi.condition is not None else None,
                    bi.condition_answer,
                )
                for bi in BundleItem.objects.filter(bundle=bundle)
                .select_related("condition")
                .order_by("stage", "order", "item_id")
            ]
            if entries:
                questions = [q.code for q in bundle.questions.all()]
                lead = responsible_unit_id(Application(bundle=bundle), None)
                bundles.append(_BundleSpec(bundle.pk, bundle.applicant, questions, entries, lead))
        internal = set(Unit.objects.filter(kind=Unit.Kind.INTERNAL).values_list("pk", flat=True))
        listed = set(SpeedUpEntry.items.through.objects.values_list("serviceitem_id", flat=True))
        singles = [i for i in items.values() if i.id in listed] or [
            i for i in items.values() if i.unit_id in internal
        ]
        regions = [
            code for code in District.objects.values_list("code", flat=True) if len(code) == 6
        ]
        halls = list(ServiceHall.objects.order_by("pk").values_list("pk", "code"))
        return cls(
            items=items,
            bundles=bundles,
            singles=sorted(singles, key=lambda i: i.code) or list(items.values()),
            halls=[pk for pk, _code in halls],
            hall_codes=dict(halls),
            external_units=list(
                Unit.objects.filter(kind=Unit.Kind.EXTERNAL)
                .order_by("pk")
                .values_list("pk", "code")
            ),
            regions=regions or ["321002"],
        )


# -- writing rows ------------------------------------------------------------------------------


class _Writer(threading.Thread):
    """Runs the COPY statements of rendered chunks on its own connection, one transaction per
    chunk, while the next chunk is being generated (PostgreSQL works on the other core)."""

    def __init__(self) -> None:
        super().__init__(name="history-writer", daemon=True)
        self.chunks: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while (chunk := self.chunks.get()) is not None:
                if self.error is None:
                    copy_rendered(chunk)
        except BaseException as error:  # reported by finish() in the caller's thread
            self.error = error
            while self.chunks.get() is not None:
                pass
        finally:
            connection.close()

    def put(self, chunk) -> None:
        if self.error is not None:
            raise self.error
        self.chunks.put(chunk)

    def finish(self) -> None:
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise self.error


class _Sink:
    """Collects rows per model, in dependency order, and writes them a chunk at a time."""

    ORDER: tuple[type[models.Model], ...] = (
        Application,
        ItemCase,
        CasePause,
        DepartmentRequest,
        CaseFlag,
        CaseEvent,
        Rating,
        FollowUp,
        FollowUpEvent,
    )
    WITH_PK: tuple[type[models.Model], ...] = (Application, ItemCase, Rating, FollowUp)
    ID_BLOCK = 20_000
    FIRST_ID_BLOCK = 500  # blocks grow from this to ID_BLOCK: a small history reserves little

    def __init__(self, *, background: bool) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.rows: dict[type[models.Model], list] = {model: [] for model in self.ORDER}
        self.tables = {
            model: CopyTable.of(model, with_pk=model in self.WITH_PK) for model in self.ORDER
        }
        self._pools: dict[type[models.Model], list[int]] = {model: [] for model in self.WITH_PK}
        self._taken: dict[type[models.Model], int] = dict.fromkeys(self.WITH_PK, 0)
        self._blocks: dict[type[models.Model], int] = dict.fromkeys(
            self.WITH_PK, self.FIRST_ID_BLOCK
        )
        self._next_id: dict[type[models.Model], int] = {}
        # A second connection cannot see uncommitted rows (the generated users inside a test's
        # transaction): write in the background only outside any transaction.
        self.writer = None
        if background and self.postgres and not connection.in_atomic_block:
            self.writer = _Writer()
            self.writer.start()

    def _refill(self, model: type[models.Model], want: int) -> list[int]:
        if self.postgres:
            # From the table's own sequence: safe while the portal inserts rows too.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.tables[model].db_table, want],
                )
                return [row[0] for row in cursor.fetchall()]
        start = self._next_id.get(model)
        if start is None:
            start = (model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0) + 1
        self._next_id[model] = start + want
        return list(range(start, start + want))

    def ids(self, model: type[models.Model], n: int) -> list[int]:
        """n fresh primary keys for rows written with their key (applications, item cases)."""
        pool, taken = self._pools[model], self._taken[model]
        if taken + n > len(pool):
            block = self._blocks[model]
            self._blocks[model] = min(self.ID_BLOCK, block * 4)
            pool = pool[taken:] + self._refill(model, max(n, block))
            self._pools[model], taken = pool, 0
        self._taken[model] = taken + n
        return pool[taken : taken + n]

    def add(self, model: type[models.Model], row: dict) -> None:
        self.rows[model].append(row)

    def flush(self) -> None:
        """Write what was collected, one transaction for the whole chunk."""
        collected = [(model, self.rows[model]) for model in self.ORDER if self.rows[model]]
        self.rows = {model: [] for model in self.ORDER}
        if not self.postgres:
            with transaction.atomic():
                for model, rows in collected:
                    model._default_manager.bulk_create(
                        (model(**row) for row in rows), batch_size=500
                    )
            return
        chunk = [
            (self.tables[model].sql, self.tables[model].render(rows)) for model, rows in collected
        ]
        if self.writer is not None:
            self.writer.put(chunk)
        else:
            copy_rendered(chunk)

    def close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.finish()

    def analyze(self) -> None:
        if not self.postgres:
            return
        tables = [User._meta.db_table] + [self.tables[m].db_table for m in self.ORDER]
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


# -- people ------------------------------------------------------------------------------------


def _resident_id(rng: random.Random, region: str) -> str:
    birth = datetime(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))  # noqa: DTZ001
    first17 = f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + resident_id_check_char(first17)


def _credit_code(rng: random.Random, region: str) -> str:
    body = "91" + region + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))


@dataclass
class _People:
    citizens: list[int]
    enterprises: list[int]
    reviewers: dict[int, list[int]]  # unit → reviewer ids
    clerks: list[int]
    supervisor: int | None = None  # of the city's supervision office: decides appeals


def default_applicants(cases: int) -> int:
    """About one applicant per ten item cases (a few applications each over the two years), at
    least 20: a city's applicants, not a few thousand people with a hundred applications each,
    which would make every per-applicant read (the pre-check's duplicates, the list pages)
    look slower than it is."""
    return max(20, cases // 10)


def _create_people(rng: random.Random, catalog: _Catalog, applicants: int) -> _People:
    from kuaiban.accounts.crypto import keyed_hash

    tag = f"{USERNAME_PREFIX}{secrets.token_hex(3)}"
    taken_hashes = set(
        User.objects.exclude(resident_id_hash=None).values_list("resident_id_hash", flat=True)
    )
    taken_codes = set(User.objects.exclude(credit_code=None).values_list("credit_code", flat=True))
    unusable = make_password(None)
    users = []
    for i in range(applicants):
        region = rng.choice(catalog.regions)
        user = User(
            username=f"{tag}-{i:05d}",
            password=unusable,
            email=f"{tag}-{i:05d}@example.invalid",
            # They submitted applications: real-name verified, as submitting requires.
            is_verified=True,
            verification_source="generated",
        )
        if rng.random() < CITIZEN_SHARE:
            number = _resident_id(rng, region)
            while keyed_hash(number) in taken_hashes:
                number = _resident_id(rng, region)
            taken_hashes.add(keyed_hash(number))
            user.role = Role.CITIZEN
            user.real_name = user.display_name = _name(rng)
            user.set_resident_id(number)
        else:
            code = _credit_code(rng, region)
            while code in taken_codes:
                code = _credit_code(rng, region)
            taken_codes.add(code)
            user.role = Role.ENTERPRISE
            user.real_name = user.display_name = f"样例{_name(rng)}{i}号企业有限公司"
            user.credit_code = code
            user.contact_name = _name(rng)
        users.append(user)
    # Staff who accept and decide: the ones an earlier run generated, else new ones.
    staff = User.objects.filter(username__startswith=USERNAME_PREFIX, is_active=True)
    reviewers: dict[int, list[int]] = {}
    for pk, unit_id in staff.filter(role=Role.REVIEWER).values_list("pk", "unit_id"):
        reviewers.setdefault(unit_id, []).append(pk)
    clerks = list(staff.filter(role=Role.CLERK).values_list("pk", flat=True))
    office = staff.filter(role=Role.SUPERVISOR, district=None).order_by("pk").first()
    new_reviewers: list[tuple[int, User]] = []  # (unit id, reviewer)
    for unit_id in sorted({item.unit_id for item in catalog.items.values()}):
        if unit_id in reviewers:
            continue
        for k in range(REVIEWERS_PER_UNIT):
            reviewer = User(
                username=f"{tag}-r{unit_id}-{k}",
                password=unusable,
                role=Role.REVIEWER,
                unit_id=unit_id,
                display_name=f"审核员{_name(rng)}",
            )
            new_reviewers.append((unit_id, reviewer))
            users.append(reviewer)
    for k in range(0 if clerks else CLERKS):
        users.append(
            User(
                username=f"{tag}-c{k}",
                password=unusable,
                role=Role.CLERK,
                hall_id=catalog.halls[k % len(catalog.halls)] if catalog.halls else None,
                display_name=f"窗口{_name(rng)}",
            )
        )
    if office is None:  # no random draw: the cases of a seed stay what they were
        office = User(
            username=f"{tag}-s0",
            password=unusable,
            role=Role.SUPERVISOR,
            display_name="行风办督查员",
        )
        users.append(office)
    User.objects.bulk_create(users, batch_size=1000)
    if any(u.pk is None for u in users):  # a backend without RETURNING
        ids = dict(User.objects.filter(username__startswith=tag).values_list("username", "pk"))
        for user in users:
            user.pk = ids[user.username]
    people = _People([], [], reviewers, clerks, office.pk)
    for user in users:
        if user.role == Role.CITIZEN:
            people.citizens.append(user.pk)
        elif user.role == Role.ENTERPRISE:
            people.enterprises.append(user.pk)
        elif user.role == Role.CLERK:
            people.clerks.append(user.pk)
    for unit_id, reviewer in new_reviewers:
        people.reviewers.setdefault(unit_id, []).append(reviewer.pk)
    if not people.citizens:
        people.citizens = people.enterprises
    if not people.enterprises:
        people.enterprises = people.citizens
    return people


# -- simulation --------------------------------------------------------------------------------

ONE_MINUTE = timedelta(minutes=1)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _due_fields(clock: deadlines.ClockPlan) -> dict[str, datetime | None]:
    """A clock's due times by the `ItemCase` fields that hold them."""
    return {
        "warn_50_at": clock.warn_50,
        "warn_75_at": clock.warn_75,
        "committed_due_at": clock.committed_due,
        "statutory_due_at": clock.statutory_due,
    }


def _fires(threshold: datetime) -> datetime:
    """When the once-a-minute sweep marks a threshold: the minute after it passed."""
    return threshold.replace(second=0, microsecond=0) + ONE_MINUTE


@dataclass
class _CaseDraw:
    """Every random choice about one case, drawn before its simulation."""

    fraction: float  # handling time as a share of the committed office time
    denied: bool
    statutory_mode: bool
    review_share: float  # review starts after this share of the handling time
    pause: tuple[float, int, str] | None  # (start as a share of the 50% mark, minutes, kind)
    awaiting: float | None  # where between review start and now a department was asked
    reviewer: int | None


@dataclass
class _Pause:
    started: datetime
    ended: datetime
    kind: str
    explanation: str


@dataclass
class _ClockRun:
    """A case's clock from its stage's opening, simulated to the decision (`run_clock`)."""

    accepted: datetime
    received: datetime
    plan: deadlines.ClockPlan  # as planned at acceptance (the "original" dues)
    clock: deadlines.ClockPlan  # as it runs (statutory mode from the acceptance)
    shifted: deadlines.ClockPlan  # after the pause (the clock when none)
    review_start: datetime
    decided: datetime
    pause: _Pause | None = None


@dataclass
class _CaseSim:
    item: _Item
    stage: int
    draw: _CaseDraw
    id: int = 0
    run: _ClockRun | None = None  # None while its stage has not opened


@dataclass
class _AppSim:
    row: dict
    cases: list[_CaseSim]
    states: dict[int, str]  # case id → its state now
    stop: datetime  # clocks ran until then at the latest (now, or a withdrawal)
    events: list[tuple] = field(default_factory=list)


class _Generator:
    def __init__(
        self,
        *,
        cal: WorkCalendar,
        catalog: _Catalog,
        people: _People,
        sink: _Sink,
        rng: random.Random,
        now: datetime,
        years: float,
        open_share: float,
        sweep_lag: timedelta,
        result: HistoryResult,
        feedback_rng: random.Random,
    ) -> None:
        self.cal, self.catalog, self.people, self.sink = cal, catalog, people, sink
        self.rng, self.now, self.open_share = rng, now, open_share
        self.start = now - timedelta(days=365 * years)
        self.cutoff = now - sweep_lag
        self.result = result
        # The form answers are an encrypted "{}": encrypted once, the same token for every row.
        self.form_data = (
            Application._meta.get_field("form_data").get_db_prep_save({}, connection=connection)
            if sink.postgres
            else {}
        )
        self.flag_facts = {kind: flag_event_facts(kind) for kind in FlagKind}
        self.feedback = _Feedback(
            cal=cal,
            catalog=catalog,
            people=people,
            sink=sink,
            rng=feedback_rng,
            now=now,
            cutoff=self.cutoff,
            result=result,
        )
        with translation.override(settings.LANGUAGE_CODE):  # stored text: the portal's language
            self.pause_labels = {kind.value: str(kind.label) for kind in CasePause.Kind}

    # -- what an application is for ------------------------------------------------------------

    def choose_subject(self, remaining: int, *, open_now: bool):
        """(bundle id, single item, answers, [(item, stage)], applicant id). What is open at any
        moment is the work that takes days (an instant item is done within the half hour), so an
        open application includes at least one item counted in days."""
        for _attempt in range(20):
            chosen = self._subject(remaining)
            if not open_now or any(item.day_clock for item, _stage in chosen[3]):
                return chosen
        return chosen

    def _subject(self, remaining: int):
        rng, people = self.rng, self.people
        if self.catalog.bundles and rng.random() < BUNDLE_SHARE:
            bundle = rng.choice(self.catalog.bundles)
            answers = {code: rng.random() < 0.5 for code in bundle.questions}
            planned = [
                (item, stage)
                for item, stage, condition, answer in bundle.entries
                if condition is None or answers.get(condition) == answer
            ]
            if planned and len(planned) <= remaining:
                enterprise = bundle.applicant in (
                    Bundle.Applicant.ENTERPRISE,
                    Bundle.Applicant.INSTITUTION,
                ) or (
                    bundle.applicant == Bundle.Applicant.CITIZEN_OR_ENTERPRISE
                    and rng.random() < 0.3
                )
                pool = people.enterprises if enterprise else people.citizens
                return bundle.id, None, answers, planned, rng.choice(pool)
        item = rng.choice(self.catalog.singles)
        pool = people.citizens if rng.random() < 0.8 else people.enterprises
        return None, item, {}, [(item, 1)], rng.choice(pool)

    def draw_case(self, item: _Item) -> _CaseDraw:
        rng = self.rng
        roll = rng.random()
        denied = roll < DENIED_SHARE
        if denied:
            fraction = rng.uniform(0.1, 0.9)
        elif roll < DENIED_SHARE + BREACH_SHARE:
            fraction = rng.uniform(2.05, 2.6)
        elif roll < DENIED_SHARE + BREACH_SHARE + LATE_SHARE:
            fraction = rng.uniform(1.02, 1.6)
        else:
            fraction = 0.04 + 0.9 * rng.betavariate(2.0, 3.5)
        pause = None
        if item.day_clock and rng.random() < PAUSE_SHARE:
            kind = rng.choice(list(self.pause_labels))
            pause = (rng.uniform(0.3, 0.9), rng.randint(1, 8) * OFFICE_DAY_MINUTES, kind)
        reviewers = self.people.reviewers.get(item.unit_id)
        return _CaseDraw(
            fraction=fraction,
            denied=denied,
            statutory_mode=item.can_go_statutory and rng.random() < STATUTORY_MODE_SHARE,
            review_share=rng.uniform(0.02, 0.2),
            pause=pause,
            awaiting=rng.random() if item.day_clock and rng.random() < AWAITING_SHARE else None,
            reviewer=rng.choice(reviewers) if reviewers else None,
        )

    # -- one case's clock ----------------------------------------------------------------------

    def run_clock(self, case: _CaseSim, accepted: datetime, received: datetime) -> _ClockRun:
        """Plan the clock like `clocks.clock_start` (and `clock_to_statutory` when the reviewer
        keeps the statutory limit); place the review, pause and decision in office minutes after
        the clock start. Sets and returns `case.run`."""
        cal, draw = self.cal, case.draw
        plan = deadlines.plan_clock(
            cal, case.item.policy, received_at=received, accepted_at=accepted
        )
        clock = plan
        if draw.statutory_mode:
            clock = deadlines.statutory_plan(
                cal, plan, statutory_unit=case.item.statutory_unit, accepted_at=accepted
            )
        if clock.committed_due is not None:
            total = cal.office_minutes_between(clock.start, clock.committed_due)
        else:
            total = float(self.rng.randint(1, 5) * OFFICE_DAY_MINUTES)
        target = max(2, round(total * draw.fraction))
        review = max(1, round(target * draw.review_share))
        review_start = cal.add_office_minutes(clock.start, review).at
        if draw.pause is not None and clock.committed_due is not None:
            share, length, kind = draw.pause
            before = max(review + 1, round(total * 0.5 * share))
            # Paused before the 50% mark (no flag has fired) and before the decision.
            if before < total * 0.5 and before < target:
                started = cal.add_office_minutes(clock.start, before).at
                ended = cal.add_office_minutes(started, length).at
                shift = deadlines.pause_shift(cal, started, ended, self.pause_labels[kind])
                case.run = _ClockRun(
                    accepted=accepted,
                    received=received,
                    plan=plan,
                    clock=clock,
                    shifted=deadlines.shift_plan(
                        cal, clock, shift, statutory_unit=case.item.statutory_unit
                    ),
                    review_start=review_start,
                    decided=cal.add_office_minutes(ended, max(1, target - before)).at,
                    pause=_Pause(started, ended, kind, shift.explanation),
                )
                return case.run
        decided = cal.add_office_minutes(clock.start, target).at
        if decided <= accepted:
            # An instant item's clock runs from receipt: accepted late online, it is decided
            # (already late) shortly after the acceptance, never before.
            decided = cal.add_office_minutes(accepted, 1 + round(target * draw.review_share)).at
        if review_start < accepted:
            review_start = accepted + (decided - accepted) * draw.review_share
        case.run = _ClockRun(
            accepted=accepted,
            received=received,
            plan=plan,
            clock=clock,
            shifted=clock,
            review_start=review_start,
            decided=decided,
        )
        return case.run

    def office_moment_before(self, moment: datetime) -> datetime:
        """The first office minute at or after `moment`, or of an earlier day if that would be
        after now (a clerk accepts during office hours)."""
        for days_back in range(60):
            candidate = self.cal.next_office_minute(moment - timedelta(days=days_back))
            if candidate <= self.now:
                return candidate
        return moment

    # -- one application -----------------------------------------------------------------------

    def application(self, remaining: int) -> int:
        """Simulate one application up to now and queue its rows; returns its number of cases."""
        rng, cal, now = self.rng, self.cal, self.now
        open_now = rng.random() < self.open_share
        bundle_id, item, answers, planned, applicant = self.choose_subject(
            remaining, open_now=open_now
        )
        window = rng.random() < WINDOW_SHARE
        roll = rng.random()
        if roll < REFUSED_SHARE:
            outcome = "refused"
        elif roll < REFUSED_SHARE + WITHDRAWN_EARLY_SHARE:
            outcome = "withdrawn_early"
        elif roll < REFUSED_SHARE + WITHDRAWN_EARLY_SHARE + WITHDRAWN_LATE_SHARE:
            outcome = "withdrawn_late"
        else:
            outcome = "handled"
        submit_minutes = rng.randint(1, 5) if window else rng.randint(3, 40)
        accept_minutes = rng.randint(2, 15) if window else rng.randint(10, 900)
        withdraw_share = rng.uniform(0.1, 0.9)
        clerk = rng.choice(self.people.clerks) if self.people.clerks else None
        cases = [_CaseSim(it, stage, self.draw_case(it)) for it, stage in planned]
        stages = sorted({c.stage for c in cases})

        if open_now:
            # Open now: accepted within the (estimated) handling time before now.
            handling = sum(
                max(c.item.span_days * min(c.draw.fraction, 1.3) for c in cases if c.stage == s)
                for s in stages
            )
            accepted = self.office_moment_before(
                now - timedelta(days=handling * rng.uniform(0.0, 0.97))
            )
            if window:
                submitted = accepted - timedelta(minutes=accept_minutes)
                received = accepted
            else:
                submitted = accepted - timedelta(minutes=rng.randint(10, 2 * 24 * 60))
                received = submitted
            created = submitted - timedelta(minutes=submit_minutes)
        else:
            # Anywhere in the history (fewer at weekends), handled from there on.
            created = self.start + (now - self.start) * rng.random()
            if created.weekday() >= 5 and rng.random() < 0.7:
                created -= timedelta(days=2)
            if window:
                created = cal.next_office_minute(created)
            latest = now - timedelta(minutes=submit_minutes + 1)
            if created > latest:  # the hall has not opened yet: an online application instead
                created, window = latest - timedelta(minutes=rng.randint(0, 120)), False
                accept_minutes = rng.randint(10, 900)
            submitted = created + timedelta(minutes=submit_minutes)
            if window:
                accepted = cal.next_office_minute(submitted + timedelta(minutes=accept_minutes))
                received = accepted
            else:
                accepted = cal.add_office_minutes(submitted, accept_minutes).at
                received = submitted

        channel = Application.Channel.WINDOW if window else Application.Channel.ONLINE
        delivery = rng.choice(Application.Delivery.values)
        app_id = self.sink.ids(Application, 1)[0]
        for case, pk in zip(cases, self.sink.ids(ItemCase, len(cases)), strict=True):
            case.id = pk
        sim = _AppSim(
            row={
                "id": app_id,
                "reference": reference_number(created, _reference_suffix(app_id)),
                "applicant_id": applicant,
                "bundle_id": bundle_id,
                "item_id": item.id if item is not None else None,
                "answers": answers,
                "form_data": self.form_data,
                "channel": channel,
                "delivery": delivery,
                "visit_target": visit_target_for(
                    channel=channel,
                    delivery=delivery,
                    item_targets=[c.item.visit_target for c in cases],
                ),
                # The id in the low bits keeps the key unique when a later run reuses the seed.
                "submission_key": uuid.UUID(
                    int=(rng.getrandbits(128) >> 64 << 64) | app_id, version=4
                ),
                "visits": 1 if window else 0,
                "created_at": created,
                "submitted_at": submitted,
                "state": ApplicationState.SUBMITTED,
            },
            cases=cases,
            states={
                c.id: CaseState.SUBMITTED if c.stage == stages[0] else CaseState.WAITING
                for c in cases
            },
            events=[
                (created, EventAction.CREATE, "", ApplicationState.DRAFT, applicant),
                (
                    submitted,
                    EventAction.SUBMIT,
                    ApplicationState.DRAFT,
                    ApplicationState.SUBMITTED,
                    applicant,
                ),
            ],
            stop=now,
        )
        withdrawn_early = submitted + (accepted - submitted) * withdraw_share
        if outcome == "refused" and accepted <= now:
            sim.row["state"] = ApplicationState.REFUSED
            sim.events.append(
                (
                    accepted,
                    EventAction.REFUSE,
                    ApplicationState.SUBMITTED,
                    ApplicationState.REFUSED,
                    clerk,
                    None,
                    "材料不符合受理条件",
                    {"legal_basis": "《行政许可法》第三十二条"},
                )
            )
            sim.states = dict.fromkeys(sim.states, CaseState.REFUSED)
        elif outcome == "withdrawn_early" and withdrawn_early <= now:
            sim.row["state"] = ApplicationState.WITHDRAWN
            sim.events.append(
                (
                    withdrawn_early,
                    EventAction.WITHDRAW,
                    ApplicationState.SUBMITTED,
                    ApplicationState.WITHDRAWN,
                    applicant,
                )
            )
            sim.states = dict.fromkeys(sim.states, CaseState.WITHDRAWN)
        elif outcome in ("handled", "withdrawn_late") and accepted <= now:
            hall = rng.choice(self.catalog.halls) if self.catalog.halls else None
            sim.row["hall_id"] = hall
            sim.events.append(
                (
                    accepted,
                    EventAction.ACCEPT,
                    ApplicationState.SUBMITTED,
                    ApplicationState.ACCEPTED,
                    clerk,
                    None,
                    "",
                    {"hall": self.catalog.hall_codes.get(hall) if hall is not None else None},
                )
            )
            self.handle(sim, accepted, received, withdraw_share if outcome != "handled" else None)
        self.write(sim)
        return len(cases)

    def handle(
        self, sim: _AppSim, accepted: datetime, received: datetime, withdraw_share: float | None
    ) -> None:
        """From acceptance: stages in turn (the next opens when the last of the previous stage is
        approved; a denial closes the later stages), cut at now or at the withdrawal."""
        now, cases, row = self.now, sim.cases, sim.row
        stages = sorted({c.stage for c in cases})
        opened: list[tuple[_CaseSim, _ClockRun]] = []
        stage_start, stage_received = accepted, received
        denied = False
        withdrawn_at: datetime | None = None
        for stage in stages:
            if denied or stage_start > now or withdrawn_at is not None:
                break
            members = [
                (c, self.run_clock(c, stage_start, stage_received))
                for c in cases
                if c.stage == stage
            ]
            opened += members
            denied = any(c.draw.denied for c, _run in members)
            if withdraw_share is not None:
                earliest = min(run.decided for _c, run in members)
                moment = accepted + (earliest - accepted) * withdraw_share
                withdrawn_at = moment if moment <= now else None
                withdraw_share = None
            stage_start = stage_received = max(run.decided for _c, run in members)
        # Called once accepted (accepted <= now), so the first stage opened: the last decision
        # of the last stage that opened.
        end = stage_start
        sim.stop = withdrawn_at or now
        first = [(c, run) for c, run in opened if c.stage == stages[0]]
        review = min(run.review_start for _c, run in first)
        state = ApplicationState.ACCEPTED
        if review <= sim.stop:
            state = ApplicationState.IN_PROGRESS
            sim.events.append(
                (
                    review,
                    EventAction.START_REVIEW,
                    ApplicationState.ACCEPTED,
                    state,
                    first[0][0].draw.reviewer,
                )
            )
        concluded = withdrawn_at is None and end <= now and (denied or len(opened) == len(cases))
        for case, run in opened:
            sim.states[case.id] = self.case_state(case, run, sim.stop, concluded=concluded)
        if withdrawn_at is not None:
            sim.events.append(
                (
                    withdrawn_at,
                    EventAction.WITHDRAW,
                    state,
                    ApplicationState.WITHDRAWN,
                    row["applicant_id"],
                )
            )
            sim.states = dict.fromkeys(sim.states, CaseState.WITHDRAWN)
            state = ApplicationState.WITHDRAWN
        elif concluded:
            for case in cases:
                if case.run is None:  # a later stage that a denial closed
                    sim.states[case.id] = CaseState.CLOSED
            sim.events.append(
                (
                    end,
                    EventAction.CONCLUDE,
                    state,
                    ApplicationState.CONCLUDED,
                    None,
                    None,
                    "",
                    {"delivery": row["delivery"]},
                )
            )
            row["concluded_at"] = end
            state = ApplicationState.CONCLUDED
        row["state"] = state

    def case_state(self, case: _CaseSim, run: _ClockRun, stop: datetime, *, concluded: bool) -> str:
        if run.decided <= stop:
            if concluded:
                return CaseState.CONCLUDED
            return CaseState.DENIED if case.draw.denied else CaseState.APPROVED
        if run.pause and run.pause.started <= stop < run.pause.ended:
            return CaseState.PAUSED
        if run.review_start > stop:
            return CaseState.ACCEPTED
        if case.draw.awaiting is not None:
            return CaseState.AWAITING_DEPARTMENT
        return CaseState.IN_REVIEW

    # -- rows ------------------------------------------------------------------------------------

    def write(self, sim: _AppSim) -> None:
        self.sink.add(Application, sim.row)
        self.result.applications += 1
        case_rows = [self.write_case(sim, case) for case in sim.cases]
        app_id = sim.row["id"]
        for event in sim.events:
            self.event(app_id, *event)
        self.feedback.application(sim.row, case_rows)

    def write_case(self, sim: _AppSim, case: _CaseSim) -> dict:
        """Queue the case's rows; returns the case's row."""
        sink, app_id, stop = self.sink, sim.row["id"], sim.stop
        state = sim.states[case.id]
        row = {
            "id": case.id,
            "application_id": app_id,
            "item_id": case.item.id,
            "unit_id": case.item.unit_id,
            "stage": case.stage,
            "state": state,
            "created_at": sim.row["submitted_at"],
        }
        sink.add(ItemCase, row)
        self.result.cases += 1
        run, draw = case.run, case.draw
        if run is None or run.accepted > stop:  # no clock (yet)
            return row
        pause = run.pause if run.pause is not None and run.pause.started <= stop else None
        resumed = pause is not None and pause.ended <= stop
        clock = run.shifted if resumed else run.clock
        thresholds = _due_fields(clock)
        row.update(thresholds)
        row.update(
            received_at=run.received,
            accepted_at=run.accepted,
            clock_unit=clock.unit,
            clock_start=clock.start,
            original_committed_due_at=run.plan.committed_due,
            original_statutory_due_at=run.plan.statutory_due,
            due_provisional=clock.provisional,
        )
        if run.review_start <= stop:
            row["reviewer_id"] = draw.reviewer
        decided = run.decided if run.decided <= stop else None
        notes = []
        if draw.statutory_mode:
            reason = _STATUTORY_REASONS[case.id % len(_STATUTORY_REASONS)]
            row.update(
                statutory_mode=True,
                statutory_mode_reason=reason,
                statutory_mode_by_id=draw.reviewer,
            )
            # Switched at the acceptance: the note names the due time before any pause.
            note = deadlines.statutory_note(self.cal, reason, run.clock.committed_due)
            notes.append(note)
            self.event(
                app_id,
                run.accepted,
                EventAction.STATUTORY_MODE,
                "",
                "",
                draw.reviewer,
                case.id,
                note,
                {"committed_due": _iso(run.clock.committed_due)},
            )

        # Flags: the sweep marks a threshold in the minute after it passed while the clock runs
        # (a threshold that passed during a pause right after the resumption); thresholds that
        # passed within the sweep lag are left for the next sweep.
        last = min(decided or stop, self.cutoff)
        pending = []
        for kind, threshold_name, fired_name in ((t.kind, t.at, t.fired) for t in THRESHOLDS):
            threshold = thresholds[threshold_name]
            if threshold is None:
                continue
            fires = _fires(threshold)
            if pause is not None and fires >= pause.started:
                if not resumed:  # passed during the pause, which still runs
                    pending.append(threshold)
                    continue
                fires = max(fires, _fires(pause.ended))
            if fires > last:
                pending.append(threshold)
                continue
            row[fired_name] = fires
            sink.add(
                CaseFlag,
                {
                    "item_case_id": case.id,
                    "kind": kind.value,
                    "threshold_at": threshold,
                    "flagged_at": fires,
                },
            )
            self.result.flags += 1
            # As the sweep: every fired flag has its event, with the same reason and data.
            reason, data = self.flag_facts[kind]
            self.event(app_id, fires, EventAction.FLAG, "", "", None, case.id, reason, dict(data))
        if state in RUNNING_CLOCK_STATES:
            row["next_flag_at"] = min(pending, default=None)
            self.result.running += 1

        if pause is not None:
            reason = "依法暂停计时"
            pause_row = {
                "item_case_id": case.id,
                "kind": pause.kind,
                "reason": reason,
                "started_at": pause.started,
                "started_by_id": draw.reviewer,
            }
            self.event(
                app_id,
                pause.started,
                EventAction.PAUSE,
                CaseState.IN_REVIEW,
                CaseState.PAUSED,
                draw.reviewer,
                case.id,
                reason,
                {"kind": pause.kind},
            )
            if resumed:
                pause_row.update(
                    ended_at=pause.ended, ended_by_id=draw.reviewer, explanation=pause.explanation
                )
                notes.append(pause.explanation)
                self.event(
                    app_id,
                    pause.ended,
                    EventAction.RESUME,
                    CaseState.PAUSED,
                    CaseState.IN_REVIEW,
                    draw.reviewer,
                    case.id,
                    pause.explanation,
                    {
                        "committed_due": _iso(run.shifted.committed_due),
                        "statutory_due": _iso(run.shifted.statutory_due),
                    },
                )
            elif state == CaseState.PAUSED:
                row["paused_since"] = pause.started
            sink.add(CasePause, pause_row)
            self.result.pauses += 1

        # (case_state() says AWAITING_DEPARTMENT only for a case drawn to wait.)
        if (
            state == CaseState.AWAITING_DEPARTMENT
            and draw.awaiting is not None
            and self.catalog.external_units
        ):
            since = pause.ended if pause is not None and resumed else run.review_start
            sent = since + (self.now - since) * draw.awaiting
            question = "请协助核实相关信息"
            externals = self.catalog.external_units
            department_id, department_code = externals[case.id % len(externals)]
            sink.add(
                DepartmentRequest,
                {
                    "item_case_id": case.id,
                    "department_id": department_id,
                    "question": question,
                    "sent_at": sent,
                    "sent_by_id": draw.reviewer,
                    "due_at": self.cal.add_working_days(sent, 3).at,
                },
            )
            self.result.department_requests += 1
            self.event(
                app_id,
                sent,
                EventAction.DEPARTMENT_REQUEST,
                CaseState.IN_REVIEW,
                state,
                draw.reviewer,
                case.id,
                question,
                {"department": department_code},
            )

        if decided is not None:
            self.decision(row, case, run, decided, sim.row.get("concluded_at"))
            action, to_state = (
                (EventAction.DENY, CaseState.DENIED)
                if draw.denied
                else (EventAction.APPROVE, CaseState.APPROVED)
            )
            self.event(
                app_id,
                decided,
                action,
                CaseState.IN_REVIEW,
                to_state,
                draw.reviewer,
                case.id,
                row.get("decision_reason", ""),
            )
        if notes:
            row["deadline_notes"] = "\n".join(notes)
        return row

    def decision(
        self, row: dict, case: _CaseSim, run: _ClockRun, decided: datetime, concluded_at
    ) -> None:
        """Decision facts as `review.case_approve` / `case_deny` and `conclude` store them."""
        row["decided_at"] = decided
        if case.draw.denied:
            row["decision_reason"] = _DENIAL_REASONS[case.id % len(_DENIAL_REASONS)]
            row["legal_basis"] = case.item.legal_basis
        pauses = [(run.pause.started, run.pause.ended)] if run.pause is not None else []
        row["handling_minutes"], row["handling_days"] = deadlines.handling_time(
            self.cal,
            clock_start=run.clock.start,
            accepted_at=run.accepted,
            decided_at=decided,
            pauses=pauses,
            statutory_unit=case.item.statutory_unit,
        )
        if concluded_at is not None:
            row["concluded_at"] = concluded_at
            committed = row.get("committed_due_at")
            row["completed_late"] = bool(committed and decided > committed)

    def event(
        self,
        app_id: int,
        at: datetime,
        action: EventAction,
        from_state: str,
        to_state: str,
        actor: int | None = None,
        case_id: int | None = None,
        reason: str = "",
        data: dict | None = None,
    ) -> None:
        self.sink.add(
            CaseEvent,
            {
                "application_id": app_id,
                "item_case_id": case_id,
                "action": action,
                "from_state": from_state,
                "to_state": to_state,
                "actor_id": actor,
                "at": at,
                "reason": reason,
                "data": data or {},
            },
        )
        self.result.events += 1


# -- 好差评 ------------------------------------------------------------------------------------


def _pick(rng: random.Random, shares: tuple[tuple[int, float], ...]) -> int:
    """A value drawn by its share (the shares add up to 1)."""
    roll = rng.random()
    for value, share in shares:
        roll -= share
        if roll < 0:
            return value
    return shares[-1][0]


def _rating_delay(rng: random.Random) -> timedelta:
    """How long after the conclusion the applicant rates (`RATING_DELAYS`)."""
    roll = rng.random()
    for share, earliest, latest in RATING_DELAYS:
        roll -= share
        if roll < 0:
            return earliest + (latest - earliest) * rng.random()
    _share, earliest, latest = RATING_DELAYS[-1]
    return earliest + (latest - earliest) * rng.random()


class _Feedback:
    """The ratings of an application's concluded cases and the follow-ups of its bad reviews and
    of its cases whose overdue flag fired, as `rating_submit`, `followups_open_for_overdue`, the
    units' steps and `followups_sweep` store them, drawn from their own random stream (the cases
    of a seed are the same with or without them) and cut at `now` like the cases.

    A follow-up's clock is `followups.followup_clock` (`deadlines.followup_plan` with the kind's
    policy) from its opening; a rejected appeal moves it by `followups.dues_after_appeal`. Its
    flags fire as the sweep fires them: in the minute after a threshold of `followups.THRESHOLDS`
    passed while the follow-up was watched (open or verified, not waiting for an appeal's
    decision; after a rejection, in the minute after it at the latest), never after the answer;
    those within the sweep lag are left to the next sweep. `next_flag_at` is `followups.next_flag`
    of its state. Every step has its event."""

    def __init__(
        self,
        *,
        cal: WorkCalendar,
        catalog: _Catalog,
        people: _People,
        sink: _Sink,
        rng: random.Random,
        now: datetime,
        cutoff: datetime,
        result: HistoryResult,
    ) -> None:
        self.cal, self.people, self.sink, self.rng = cal, people, sink, rng
        self.now, self.cutoff, self.result = now, cutoff, result
        self.lead_units = {bundle.id: bundle.lead_unit_id for bundle in catalog.bundles}
        self.rating_policy = RatingPolicy.current()
        self.policies = {kind: followup_policy(kind) for kind in FollowUpKind}
        self.clocks: dict[tuple[FollowUpKind, datetime], dict] = {}
        # The national template's dimensions by the application's channel.
        self.dimensions = {
            channel: tuple(str(d) for d in dimensions_for(Application(channel=channel)))
            for channel in Application.Channel.values
        }
        # Encrypted columns hold what EncryptedTextField stores: each phrase encrypted once.
        self.comments = [self._stored(Rating, "comment", text) for text in _BAD_COMMENTS]
        self.contact_note = self._stored(FollowUp, "contact_note", _CONTACT_NOTE)

    def _stored(self, model: type[models.Model], name: str, text: str) -> str:
        if not self.sink.postgres:
            return text
        field = model._meta.get_field(name)
        if not isinstance(field, EncryptedTextField):
            raise TypeError(f"{model.__name__}.{name} is not encrypted")
        return field.get_db_prep_save(text, connection=connection)

    # -- ratings ---------------------------------------------------------------------------------

    def application(self, app: dict, cases: list[dict]) -> None:
        """What an application's applicant rated and what its units followed up."""
        for case in cases:
            if case.get("overdue_at") is not None:  # the sweep opened it with the flag
                self.follow_up(
                    FollowUpKind.MISSED_DEADLINE,
                    application_id=app["id"],
                    item_case_id=case["id"],
                    unit_id=case["unit_id"],
                    opened=case["overdue_at"],
                )
        if app["state"] != ApplicationState.CONCLUDED:
            return
        rng, concluded = self.rng, app["concluded_at"]
        for case in cases:
            if case["state"] == CaseState.CONCLUDED and rng.random() < CASE_RATED_SHARE:
                self.rating(app, concluded, item_case_id=case["id"], unit_id=case["unit_id"])
        if app["bundle_id"] is not None and rng.random() < WHOLE_RATED_SHARE:
            self.rating(app, concluded, item_case_id=None, unit_id=None)

    def rating(
        self, app: dict, concluded: datetime, *, item_case_id: int | None, unit_id: int | None
    ) -> None:
        rng = self.rng
        rated = min(
            concluded + _rating_delay(rng), rating_open_until(concluded, self.rating_policy)
        )
        if rated > self.now:  # not yet
            return
        grade = _pick(rng, GRADE_SHARES)
        roll = rng.random()
        entered_by = None
        if roll < HOTLINE_SHARE:
            channel = Channel.HOTLINE
            entered_by = rng.choice(self.people.clerks) if self.people.clerks else None
            if entered_by is None:  # nobody to type it in: the applicant rates online
                channel = Channel.ONLINE
        elif roll < HOTLINE_SHARE + SMS_LINK_SHARE:
            channel = Channel.SMS_LINK
        else:
            channel = Channel(app["channel"])  # online or at the window: the same values
        row = {
            "id": self.sink.ids(Rating, 1)[0],
            "application_id": app["id"],
            "item_case_id": item_case_id,
            "unit_id": unit_id,
            "grade": grade,
            "channel": channel,
            "named": rng.random() < NAMED_SHARE,
            "entered_by_id": entered_by,
            "rated_at": rated,
        }
        for dimension in self.dimensions[app["channel"]]:
            value = grade
            if rng.random() < DIMENSION_OFF_SHARE:
                value = min(5, max(1, grade + rng.choice((-1, 1))))
            row[dimension] = value
        bad = grade in (Grade.DISSATISFIED, Grade.VERY_DISSATISFIED)
        if bad and rng.random() < BAD_COMMENT_SHARE:
            row["comment"] = rng.choice(self.comments)
        self.sink.add(Rating, row)
        self.result.ratings += 1
        if bad:  # opened with the rating
            self.follow_up(
                FollowUpKind.BAD_REVIEW,
                application_id=app["id"],
                item_case_id=item_case_id,
                unit_id=unit_id if unit_id is not None else self.lead_units[app["bundle_id"]],
                opened=rated,
                rating_id=row["id"],
            )

    # -- follow-ups ------------------------------------------------------------------------------

    def clock(self, kind: FollowUpKind, opened: datetime) -> dict:
        """The follow-up's clock fields (never changed by the caller), computed once per moment:
        the cases due at one close of business open their follow-ups in the same minute."""
        key = (kind, opened)
        clock = self.clocks.get(key)
        if clock is None:
            if len(self.clocks) >= 100_000:
                self.clocks.clear()
            clock = clock_fields(followup_clock(kind, opened, self.policies[kind], cal=self.cal))
            self.clocks[key] = clock
        return clock

    def office_between(self, start: datetime, end: datetime, fraction: float) -> datetime:
        """The moment `fraction` of the office time from start to end has passed (at least one
        office minute after start)."""
        total = self.cal.office_minutes_between(start, end)
        return self.cal.add_office_minutes(start, max(1, round(total * fraction))).at

    def answer_moment(self, start: datetime, dues: dict) -> datetime:
        """When the unit answers, having verified (and any appeal decided) at `start`."""
        rng, cal = self.rng, self.cal
        due = dues["answer_due_at"]
        if start < due and rng.random() >= ANSWERED_LATE_SHARE:
            return self.office_between(start, due, rng.betavariate(1.5, 3.0))
        if rng.random() < ESCALATED_SHARE:
            minutes = rng.randint(30, 3 * OFFICE_DAY_MINUTES)
            return cal.add_office_minutes(dues["escalate_at"], minutes).at
        return self.office_between(max(start, due), dues["escalate_at"], rng.uniform(0.02, 0.98))

    def follow_up(
        self,
        kind: FollowUpKind,
        *,
        application_id: int,
        item_case_id: int | None,
        unit_id: int,
        opened: datetime,
        rating_id: int | None = None,
    ) -> None:
        rng, cal, now = self.rng, self.cal, self.now
        policy = self.policies[kind]
        planned = self.clock(kind, opened)
        row = {
            "id": self.sink.ids(FollowUp, 1)[0],
            "kind": kind,
            "application_id": application_id,
            "item_case_id": item_case_id,
            "unit_id": unit_id,
            "rating_id": rating_id,
            "opened_at": opened,
            **planned,
        }
        reviewers = self.people.reviewers.get(unit_id)
        reviewer = rng.choice(reviewers) if reviewers else None
        # The unit's steps, drawn whole, then cut at now: what comes later has not happened.
        if rng.random() < VERIFIED_LATE_SHARE:
            verified = cal.add_office_minutes(
                planned["verify_due_at"], rng.randint(30, OFFICE_DAY_MINUTES)
            ).at
        else:  # within an office day (the verify time is at least one working day)
            minutes = rng.randint(10, OFFICE_DAY_MINUTES - 20)
            verified = min(cal.add_office_minutes(opened, minutes).at, planned["verify_due_at"])
        finding = (
            Finding.JUSTIFIED if rng.random() < JUSTIFIED_SHARES[kind] else Finding.NOT_JUSTIFIED
        )
        appealed = decided = decision_due = None
        upheld = False
        dues = planned  # as they stand when the unit answers
        if kind == FollowUpKind.BAD_REVIEW and rng.random() < APPEAL_SHARE:
            # Lodged on verifying, before the first threshold: no flag fires before an appeal.
            appealed = cal.add_office_minutes(verified, rng.randint(10, 240)).at
            if appealed < planned["warn_50_at"]:
                decision_due = appeal_due(cal, appealed, policy)
                decided = self.office_between(appealed, decision_due, rng.uniform(0.1, 0.9))
                upheld = rng.random() < APPEAL_UPHELD_SHARE
                if not upheld:
                    dues = {**planned, **dues_after_appeal(cal, planned, appealed, decided)}
            else:
                appealed = None
        answered = None if upheld else self.answer_moment(max(verified, decided or verified), dues)

        events: list[tuple[datetime, str, int | None, str]] = [
            (opened, FollowUpAction.OPEN, None, "")
        ]
        state = FollowUpState.OPEN
        if verified <= now:
            state = FollowUpState.VERIFIED
            row.update(contact_note=self.contact_note, finding=finding, verified_at=verified)
            events.append((verified, FollowUpAction.VERIFY, reviewer, finding))
        if appealed is not None and appealed > now:
            appealed = decided = None  # not yet
            upheld = False
        if appealed is not None:
            row.update(
                appeal_reason=_APPEAL_REASON,
                appealed_at=appealed,
                appealed_by_id=reviewer,
                appeal_due_at=decision_due,
            )
            events.append((appealed, FollowUpAction.APPEAL, reviewer, _APPEAL_REASON))
            state = FollowUpState.APPEALED
            if decided is not None and decided <= now:
                note = _APPEAL_NOTES[upheld]
                row.update(
                    appeal_decided_at=decided,
                    appeal_decided_by_id=self.people.supervisor,
                    appeal_upheld=upheld,
                    appeal_note=note,
                )
                action = FollowUpAction.APPEAL_UPHELD if upheld else FollowUpAction.APPEAL_REJECTED
                events.append((decided, action, self.people.supervisor, note))
                state = FollowUpState.APPEAL_UPHELD if upheld else FollowUpState.VERIFIED
                row.update(dues)
            else:
                decided = None  # waiting for the office
        if state == FollowUpState.VERIFIED and answered is not None and answered <= now:
            state = FollowUpState.ANSWERED
            row.update(
                rectification=_RECTIFICATIONS[finding],
                answer=_ANSWERS[finding],
                answered_at=answered,
            )
            events.append((answered, FollowUpAction.ANSWER, reviewer, ""))
            if kind == FollowUpKind.BAD_REVIEW and rng.random() < RECTIFICATION_RATED_SHARE:
                rated = answered + timedelta(minutes=rng.randint(10, 3 * 24 * 60))
                if rated <= now:
                    grade = _pick(rng, RECTIFICATION_GRADE_SHARES)
                    row.update(rectification_grade=grade, rectification_rated_at=rated)
                    events.append((rated, FollowUpAction.RECTIFICATION_RATED, None, str(grade)))
        else:
            answered = None

        # Flags, as the sweep fires them while the follow-up is watched: never during an
        # appeal (lodged before the first threshold) nor after an upheld one; after a rejection,
        # on the moved due times, those passed meanwhile at the first sweep after the decision.
        for t in FOLLOW_UP_THRESHOLDS:
            if appealed is not None and (decided is None or upheld):
                continue
            fires = _fires(row[t.at])
            if decided is not None:
                fires = max(fires, _fires(decided))
            if (answered is not None and fires > answered) or fires > self.cutoff:
                continue
            row[t.fired] = fires
            events.append((fires, t.action, None, ""))
        row["state"] = state
        row["next_flag_at"] = next_flag(state, row)
        self.sink.add(FollowUp, row)
        self.result.follow_ups += 1
        events.sort(key=lambda event: event[0])
        follow_up_id = row["id"]
        for at, step, actor, note in events:
            self.sink.add(
                FollowUpEvent,
                {
                    "follow_up_id": follow_up_id,
                    "at": at,
                    "action": step,
                    "actor_id": actor,
                    "note": note,
                },
            )
        self.result.follow_up_events += len(events)


def _reference_suffix(pk: int) -> str:
    """A reference suffix unique per primary key: a bijection of the key modulo the number of
    suffixes (32**6; the multiplier is odd, so coprime to it), scattered like random ones."""
    base = len(REFERENCE_ALPHABET)
    n = (pk * 0x2545F491 + 0x1B873593) % base**SUFFIX_LENGTH
    chars = []
    for _ in range(SUFFIX_LENGTH):
        n, r = divmod(n, base)
        chars.append(REFERENCE_ALPHABET[r])
    return "".join(chars)


def history_generate(
    *,
    cases: int,
    open_share: float = 0.1,
    seed: int = 1,
    years: float = 2,
    now: datetime | None = None,
    applicants: int | None = None,
    sweep_lag: timedelta = DEFAULT_SWEEP_LAG,
    chunk: int = CHUNK_CASES,
    progress: Callable[[int, int, float], None] | None = None,
    background: bool = True,
) -> HistoryResult:
    """Add `cases` item cases of generated history (see the module docstring)."""
    if cases < 0 or not 0 <= open_share <= 1:
        raise ValueError("cases must be >= 0 and open_share between 0 and 1")
    began = time.perf_counter()
    now = now or timezone.now()
    rng = random.Random(seed)  # noqa: S311 - generated data, not secrets
    catalog = _Catalog.load()
    if not catalog.items:
        raise ValueError("the catalog is empty: run load_reference_data first")
    cal = calendar_from_db()
    result = HistoryResult()
    if applicants is None:
        applicants = default_applicants(cases)
    with transaction.atomic():
        people = _create_people(rng, catalog, applicants)
    result.applicants = applicants
    result.staff = (
        len(people.clerks)
        + sum(map(len, people.reviewers.values()))
        + (people.supervisor is not None)
    )
    sink = _Sink(background=background)
    generator = _Generator(
        cal=cal,
        catalog=catalog,
        people=people,
        sink=sink,
        rng=rng,
        now=now,
        years=years,
        open_share=open_share,
        sweep_lag=sweep_lag,
        result=result,
        # 好差评 from a stream of its own: a seed's cases are the same with or without it.
        feedback_rng=random.Random(f"ratings-{seed}"),  # noqa: S311 - generated data
    )
    done = pending = 0
    try:
        while done < cases:
            made = generator.application(cases - done)
            done += made
            pending += made
            if pending >= chunk and done < cases:
                sink.flush()
                pending = 0
                if progress:
                    progress(done, cases, time.perf_counter() - began)
        sink.flush()
    finally:
        sink.close()
    sink.analyze()
    result.seconds = time.perf_counter() - began
    if progress:
        progress(done, cases, result.seconds)
    return result
