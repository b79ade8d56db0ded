from datetime import date, timedelta

import chinese_calendar
import pytest

from kuaiban.workdays.arithmetic import WorkCalendar


def package_days(years):
    """date → working? for whole years, straight from the State Council schedule package."""
    days = {}
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            days[day] = chinese_calendar.is_workday(day)
            day += timedelta(days=1)
    return days


@pytest.fixture(scope="session")
def cal() -> WorkCalendar:
    """The calendar as the portal builds it for 2024–2026; 2027 is not published yet."""
    years = range(2024, 2027)
    return WorkCalendar(days=package_days(years), configured_years=years)
