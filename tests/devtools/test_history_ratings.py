"""The history generator's 好差评: ratings of the concluded cases and the follow-ups of the bad
reviews and of the cases past their committed time, as the services and the sweeps store them,
and the dashboard's figures over them."""

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from acceptance.models import RATING_COUNTS
from acceptance.rating_figures import RATING_FIGURES, rows_filter_q, rows_for_figure
from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from devtools import history as history_module
from devtools.history import history_generate
from kuaiban.accounts.models import STAFF_ROLES, Role
from kuaiban.cases.deadlines import followup_plan
from kuaiban.cases.models import Application, ApplicationState, CaseState, ItemCase
from kuaiban.ratings.followups import (
    THRESHOLDS,
    dues_after_appeal,
    followup_clocks_recompute,
    refresh_next_flag,
    responsible_unit_id,
)
from kuaiban.ratings.models import (
    BAD_GRADES,
    Channel,
    FollowUp,
    FollowUpAction,
    FollowUpEvent,
    FollowUpKind,
    FollowUpPolicy,
    FollowUpState,
    Rating,
    RatingPolicy,
)
from kuaiban.ratings.selectors import dimensions_for, rating_open_until
from kuaiban.workdays.calendar import calendar_from_db
from speedup.services.followup_sweep import followups_sweep

pytestmark = pytest.mark.django_db
CASES = 400
LAG = timedelta(days=3)
# A fixed Wednesday morning: what lies within the sweep lag does not depend on the day run.
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
ONE_MINUTE = timedelta(minutes=1)
DIMENSIONS = ("efficiency", "guide_accuracy", "convenience", "service_level", "attitude")


@pytest.fixture
def rated(db, monkeypatch):
    """400 cases where the rare 好差评 paths are common: bad reviews, hotline ratings, appeals,
    late verifications and answers, escalations; thresholds of the last 3 days left unswept."""
    for name, value in (
        ("GRADE_SHARES", ((5, 0.4), (4, 0.1), (3, 0.1), (2, 0.2), (1, 0.2))),
        ("HOTLINE_SHARE", 0.1),
        ("APPEAL_SHARE", 0.6),
        ("VERIFIED_LATE_SHARE", 0.2),
        ("ANSWERED_LATE_SHARE", 0.3),
        ("ESCALATED_SHARE", 0.4),
    ):
        monkeypatch.setattr(history_module, name, value)
    result = history_generate(cases=CASES, open_share=0.5, seed=6, now=NOW, sweep_lag=LAG)
    return NOW, result


def minute_after(moment):
    """When the once-a-minute sweep sees a moment pass."""
    return moment.replace(second=0, microsecond=0) + ONE_MINUTE


def expected_flag(follow_up, threshold, cutoff):
    """The sweep's rule: a threshold fires in the minute after it passed while the follow-up is
    watched (open or verified; not while the office decides an appeal, never after an upheld
    one, after a rejected one at the first sweep after the decision), once, never after the
    answer; the generator leaves those after the cutoff (its sweep lag) to the next sweep."""
    if follow_up.appealed_at is not None and follow_up.appeal_upheld is not False:
        return None
    fires = minute_after(getattr(follow_up, threshold.at))
    if follow_up.appeal_upheld is False:
        fires = max(fires, minute_after(follow_up.appeal_decided_at))
    if follow_up.answered_at is not None and fires > follow_up.answered_at:
        return None
    return fires if fires <= cutoff else None


def test_each_case_and_each_application_is_rated_at_most_once(rated):
    _now, result = rated
    assert result.ratings == Rating.objects.count() > 0
    per_case = Rating.objects.filter(item_case__isnull=False).values("item_case")
    assert not per_case.annotate(n=Count("pk")).filter(n__gt=1).exists()
    whole = Rating.objects.filter(item_case__isnull=True).values("application")
    assert whole.exists()
    assert not whole.annotate(n=Count("pk")).filter(n__gt=1).exists()


def test_ratings_are_of_concluded_cases_within_the_period_as_rating_submit_stores_them(rated):
    now, _result = rated
    policy = RatingPolicy.current()
    ratings = list(Rating.objects.select_related("application", "item_case", "entered_by"))
    assert {r.channel for r in ratings} == set(Channel.values)
    for rating in ratings:
        application, case = rating.application, rating.item_case
        assert application.state == ApplicationState.CONCLUDED, rating.pk
        if case is not None:
            assert case.state == CaseState.CONCLUDED and case.application_id == application.pk
            assert rating.unit_id == case.unit_id
        else:
            assert application.bundle_id is not None and rating.unit_id is None
        concluded = application.concluded_at
        assert concluded < rating.rated_at <= min(now, rating_open_until(concluded, policy))
        filled = {name for name in DIMENSIONS if getattr(rating, name) is not None}
        assert filled == {str(d) for d in dimensions_for(application)}, rating.pk
        assert (rating.entered_by is not None) == (rating.channel == Channel.HOTLINE)
        if rating.entered_by is not None:
            assert rating.entered_by.role in STAFF_ROLES
        if rating.channel in (Channel.ONLINE, Channel.WINDOW):
            assert rating.channel == application.channel
        if rating.grade not in BAD_GRADES:
            assert rating.comment == ""


def test_comments_and_contact_notes_are_stored_encrypted(rated):
    commented = Rating.objects.exclude(comment="").first()
    noted = FollowUp.objects.exclude(contact_note="").first()
    assert commented is not None and noted is not None
    for model, row, name in ((Rating, commented, "comment"), (FollowUp, noted, "contact_note")):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {name} FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
                [row.pk],
            )
            stored = cursor.fetchone()[0]
        clear = getattr(row, name)
        assert clear and stored and clear not in stored  # read back decrypted


def test_every_bad_review_and_every_overdue_case_has_exactly_one_follow_up(rated):
    _now, result = rated
    bad = list(Rating.objects.filter(grade__in=BAD_GRADES).select_related("application"))
    overdue = list(ItemCase.objects.filter(overdue_at__isnull=False))
    assert bad and overdue
    assert result.follow_ups == FollowUp.objects.count() == len(bad) + len(overdue)
    follow_ups = {f.rating_id: f for f in FollowUp.objects.filter(kind=FollowUpKind.BAD_REVIEW)}
    assert set(follow_ups) == {r.pk for r in bad}
    for rating in bad:
        follow_up = follow_ups[rating.pk]
        assert follow_up.opened_at == rating.rated_at
        assert follow_up.application_id == rating.application_id
        assert follow_up.item_case_id == rating.item_case_id
        assert follow_up.unit_id == responsible_unit_id(rating.application, rating.item_case)
    missed = FollowUp.objects.filter(kind=FollowUpKind.MISSED_DEADLINE)
    assert {f.item_case_id for f in missed} == {c.pk for c in overdue}
    cases = {c.pk: c for c in overdue}
    for follow_up in missed:
        case = cases[follow_up.item_case_id]
        assert follow_up.rating_id is None
        assert follow_up.opened_at == case.overdue_at  # opened by the sweep with the flag
        assert (follow_up.application_id, follow_up.unit_id) == (case.application_id, case.unit_id)


def test_follow_up_clocks_are_followup_plans_from_their_opening(rated):
    cal = calendar_from_db()
    policies = {p.kind: p for p in FollowUpPolicy.objects.all()}
    follow_ups = list(FollowUp.objects.all())
    rejected = [f for f in follow_ups if f.appeal_upheld is False]
    assert rejected, "a rejected appeal moves the clock"
    for follow_up in follow_ups:
        policy = policies[follow_up.kind]
        plan = followup_plan(
            cal,
            follow_up.opened_at,
            verify_days=policy.verify_days,
            answer_days=policy.answer_days,
            escalate_days=policy.escalate_days,
        )
        expected = {
            "verify_due_at": plan.verify_due,
            "answer_due_at": plan.answer_due,
            "escalate_at": plan.escalate_at,
            "warn_50_at": plan.warn_50,
            "warn_75_at": plan.warn_75,
        }
        if follow_up.appeal_upheld is False:
            expected = dues_after_appeal(
                cal, expected, follow_up.appealed_at, follow_up.appeal_decided_at
            )
        assert {name: getattr(follow_up, name) for name in expected} == expected, follow_up.pk
        if follow_up.appealed_at is not None:
            due = cal.add_working_days(follow_up.appealed_at, policy.appeal_days).at
            assert follow_up.appeal_due_at == due
    # Recomputing the open clocks from scratch moves none of them.
    assert followup_clocks_recompute() == 0


def test_follow_up_steps_follow_each_other_and_give_the_state(rated):
    now, _result = rated
    follow_ups = list(FollowUp.objects.all())
    states = Counter(f.state for f in follow_ups)
    assert states[FollowUpState.ANSWERED] and states[FollowUpState.APPEAL_UPHELD], states
    assert states[FollowUpState.OPEN] + states[FollowUpState.VERIFIED], "some still open"
    for f in follow_ups:
        steps = [
            f.opened_at,
            f.verified_at,
            f.appealed_at,
            f.appeal_decided_at,
            f.answered_at,
            f.rectification_rated_at,
        ]
        taken = [moment for moment in steps if moment is not None]
        assert taken == sorted(taken) and taken[-1] <= now, f.pk
        assert (f.answered_at is not None) == (f.state == FollowUpState.ANSWERED)
        assert (f.state == FollowUpState.OPEN) == (f.verified_at is None)
        assert (f.state == FollowUpState.APPEAL_UPHELD) == (f.appeal_upheld is True)
        assert (f.state == FollowUpState.APPEALED) == (
            f.appealed_at is not None and f.appeal_decided_at is None
        )
        assert (f.verified_at is None) == (f.finding == "")
        if f.kind == FollowUpKind.MISSED_DEADLINE:
            assert f.appealed_at is None and f.rectification_grade is None
        assert (f.rectification_grade is None) == (f.rectification_rated_at is None)


def test_flags_fire_as_the_sweep_fires_them_and_the_next_flag_is_the_earliest_unfired(rated):
    now, _result = rated
    cutoff = now - LAG
    fired = Counter()
    for follow_up in FollowUp.objects.all():
        for threshold in THRESHOLDS:
            expected = expected_flag(follow_up, threshold, cutoff)
            assert getattr(follow_up, threshold.fired) == expected, (follow_up.pk, threshold)
            fired[threshold.action] += expected is not None
        assert follow_up.appeal_overdue_at is None  # every appeal decided in time
        stored = follow_up.next_flag_at
        refresh_next_flag(follow_up)
        assert follow_up.next_flag_at == stored, follow_up.pk
    assert all(fired[t.action] for t in THRESHOLDS), fired


def test_a_follow_up_sweep_afterwards_fires_only_what_the_lag_left(rated):
    now, _result = rated
    cutoff = now - LAG
    left = set()
    for f in FollowUp.objects.filter(state__in=(FollowUpState.OPEN, FollowUpState.VERIFIED)):
        for t in THRESHOLDS:
            moment = getattr(f, t.at)
            if getattr(f, t.fired) is None and moment <= now:
                assert minute_after(moment) > cutoff, (f.pk, t.action)  # within the lag
                left.add((f.pk, t.action))
    marked = followups_sweep(now=now)
    assert sum(marked.values()) == len(left) > 0
    swept = FollowUpEvent.objects.filter(at=now).values_list("follow_up_id", "action")
    assert set(swept) == left
    assert sum(followups_sweep(now=now).values()) == 0


def test_every_step_of_a_follow_up_has_its_event(rated):
    _now, result = rated
    assert result.follow_up_events == FollowUpEvent.objects.count()
    events: dict[int, list] = {}
    for event in FollowUpEvent.objects.select_related("actor").order_by("at", "pk"):
        events.setdefault(event.follow_up_id, []).append(event)
    for f in FollowUp.objects.all():
        expected = [(f.opened_at, FollowUpAction.OPEN)]
        for moment, action in (
            (f.verified_at, FollowUpAction.VERIFY),
            (f.appealed_at, FollowUpAction.APPEAL),
            (f.answered_at, FollowUpAction.ANSWER),
            (f.rectification_rated_at, FollowUpAction.RECTIFICATION_RATED),
            *((getattr(f, t.fired), t.action) for t in THRESHOLDS),
        ):
            if moment is not None:
                expected.append((moment, action))
        if f.appeal_decided_at is not None:
            decision = (
                FollowUpAction.APPEAL_UPHELD if f.appeal_upheld else FollowUpAction.APPEAL_REJECTED
            )
            expected.append((f.appeal_decided_at, decision))
        mine = events[f.pk]
        assert len(mine) == len(expected), f.pk
        assert sorted((e.at, e.action) for e in mine) == sorted(expected), f.pk
        for event in mine:
            if event.action in (
                FollowUpAction.VERIFY,
                FollowUpAction.ANSWER,
                FollowUpAction.APPEAL,
            ):
                assert event.actor is None or (
                    event.actor.role == Role.REVIEWER and event.actor.unit_id == f.unit_id
                )
            elif event.action in (FollowUpAction.APPEAL_UPHELD, FollowUpAction.APPEAL_REJECTED):
                assert event.actor.is_supervision_office
            else:
                assert event.actor is None
        if f.rectification_grade is not None:
            rated_event = next(e for e in mine if e.action == FollowUpAction.RECTIFICATION_RATED)
            assert rated_event.note == str(f.rectification_grade)


def test_the_dashboard_ratings_equal_direct_counts_after_a_full_refresh(rated):
    now, _result = rated
    rollup_refresh(full=True, now=now)
    today = timezone.localdate(now)
    period = Period(today - timedelta(days=3 * 365), today)
    board = dashboard({}, period)
    direct = {key: rows_for_figure(key, [period.span]).count() for key in RATING_COUNTS}
    assert board.ratings.counts == direct
    for key in ("rated", "bad", "whole_rated", "fu_missed_deadline", "fu_appeals_upheld"):
        assert direct[key] > 0, key
    for key in ("fu_answered_on_time", "fu_escalated", "fu_rect_rated"):
        assert direct[key] > 0, key
    assert board.ratings.rate("rating_rate").denominator == board.values["concluded"]
    assert board.unit_ratings
    for row in board.unit_ratings:
        for key in RATING_COUNTS:
            counts = rows_for_figure(key, [period.span]).filter(
                rows_filter_q(RATING_FIGURES[key].counts, {"unit": row.unit.pk})
            )
            assert row.figures.counts[key] == counts.count(), (row.unit.code, key)


def test_rates_are_those_of_the_table(db):
    """At the generator's own rates (a larger history, mostly concluded)."""
    history_generate(cases=3000, open_share=0.1, seed=3)
    concluded = ItemCase.objects.filter(state=CaseState.CONCLUDED).count()
    rated = Rating.objects.filter(item_case__isnull=False)
    assert 0.55 <= rated.count() / concluded <= 0.75
    bundles = Application.objects.filter(state=ApplicationState.CONCLUDED, bundle__isnull=False)
    whole = Rating.objects.filter(item_case__isnull=True).count()
    assert 0.3 <= whole / bundles.count() <= 0.5
    grades = Counter(Rating.objects.values_list("grade", flat=True))
    total = sum(grades.values())
    assert 0.8 <= grades[5] / total <= 0.92
    assert 0.005 <= (grades[1] + grades[2]) / total <= 0.04
    answered = FollowUp.objects.filter(state=FollowUpState.ANSWERED)
    on_time = answered.filter(answered_at__lte=F("answer_due_at")).count()
    assert 0.9 <= on_time / answered.count() < 1
    assert FollowUp.objects.filter(escalated_at__isnull=False).count() < answered.count() * 0.03
