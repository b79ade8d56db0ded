"""The rule of a campaign task's due time (pure; `WorkCalendar` arithmetic only).

RULE TASK-DUE: a task is due at the close of business of its due date; a due date that is not a
working day moves to the next working day (期间届满日为节假日的，顺延至节假日后的第一个工作日).
The reminder goes at the close of business `remind_days` working days before that day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kuaiban.workdays.arithmetic import WorkCalendar


@dataclass(frozen=True)
class TaskPlan:
    due_at: datetime
    remind_at: datetime
    provisional: bool  # the calendar does not cover the due day yet


def previous_working_day(cal: WorkCalendar, day: date) -> date:
    day -= timedelta(days=1)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def task_plan(cal: WorkCalendar, due_on: date, remind_days: int) -> TaskPlan:
    due_day = cal.next_working_day(due_on)
    remind_day = due_day
    for _ in range(remind_days):
        remind_day = previous_working_day(cal, remind_day)
    return TaskPlan(
        due_at=cal.close_of_business(due_day),
        remind_at=cal.close_of_business(remind_day),
        provisional=not cal.is_configured(due_day),
    )
