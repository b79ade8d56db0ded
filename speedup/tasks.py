"""Celery tasks: thin wrappers around the services, run by beat (see kuaiban/celery.py), and the
deadline engine's answer to a calendar change (registered in `SpeedupConfig.ready`)."""

from datetime import date

from celery import shared_task

from kuaiban import broker
from kuaiban.workdays.services import CalendarChange

from .services.campaign_sweep import campaign_tasks_sweep
from .services.commitment_sweep import commitment_checks_sweep
from .services.followup_sweep import followups_sweep
from .services.recompute import open_clocks_recompute, recompute_request, recomputes_run_pending
from .services.sweep import deadlines_sweep


@shared_task(name="speedup.sweep_deadlines", acks_late=True, ignore_result=True)
def sweep_deadlines() -> int:
    # A recompute owed after a calendar change whose task never left (broker down) runs first,
    # so no flag fires on a due time the calendar no longer gives.
    recomputes_run_pending()
    marked = deadlines_sweep().total
    # The follow-ups' clocks (好差评, missed deadlines), the commitments' post-hoc
    # verifications and the campaign's filings on the same beat.
    marked += sum(followups_sweep().values())
    marked += sum(campaign_tasks_sweep().values())
    return marked + sum(commitment_checks_sweep().values())


@shared_task(name="speedup.run_pending_recomputes", acks_late=True, ignore_result=True)
def run_pending_recomputes() -> int:
    return recomputes_run_pending()


@shared_task(name="speedup.recompute_deadlines", acks_late=True, ignore_result=True)
def recompute_deadlines(provisional_only: bool = False, days: list[str] | None = None) -> int:
    """`days`: ISO dates of the edited days (only the clocks spanning them), or every clock."""
    edited = [date.fromisoformat(day) for day in days or ()]
    return open_clocks_recompute(provisional_only=provisional_only, days=edited)


def recompute_after_calendar_change(change: CalendarChange) -> bool:
    """Recompute the open clocks a calendar change can move: the clocks spanning the edited
    days, only the provisional ones when whole years were loaded, every one otherwise (or when
    both days and years changed). From a request the recompute is owed in the database and a
    worker is woken for it (one bounded attempt); with the broker down the edit still stands,
    the answer is False (the administrator is told) and the next deadline sweep runs it."""
    provisional_only = change.only_new_years
    days = sorted(change.days) if change.days and not change.years_loaded else []
    if not change.background:
        open_clocks_recompute(provisional_only=provisional_only, days=days)
        return True
    recompute_request(provisional_only=provisional_only, days=days)
    return broker.publish(run_pending_recomputes)
