"""The edges of the journeys (issue 16), walked in a real browser as each person would: a
citizen on a phone registers from an application and lands back in it; the status page says
when each item and the whole application should be done; a reviewer narrows the queue to the
overdue cases and reads the office time left; a supervisor follows “已超期” from the dashboard
to the overdue list and on to a case."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from acceptance.rollups import rollup_refresh
from kuaiban.accounts.identity import resident_id_check_char
from kuaiban.accounts.services import reference_identities_load
from kuaiban.cases.models import ItemCase
from speedup.services.sweep import deadlines_sweep
from tests.builders import accepted, clerk_of, ready_application, reviewer_of, sms_code, submit
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}


def zh_day(moment) -> str:
    """A day as the status page writes it in Chinese: 12月3日（星期四）."""
    day = timezone.localtime(moment)
    weekday = "一二三四五六日"[day.weekday()]
    return f"{day.month}月{day.day}日（星期{weekday}）"


def accepted_weeks_ago(weeks: int = 5):
    """A social-security card application accepted `weeks` ago at the 一窗通办 window, swept
    since: its open cases are flagged overdue."""
    with time_machine.travel(timezone.now() - timedelta(weeks=weeks), tick=False):
        application = accepted(
            submit(ready_application(UserFactory(citizen=True))), clerk_of("BUNDLE")
        )
    deadlines_sweep()
    return application


def test_a_citizen_on_a_phone_registers_from_an_application_and_lands_back_in_it(site, browser):
    number = "32100219880614203"
    number += resident_id_check_char(number)
    reference_identities_load([("陈晓雨", number)])
    page = browser.new_context(**PHONE).new_page()

    page.goto(f"{site}/guide/bundles/B10/")
    page.get_by_test_id("apply").click()
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url  # logged out: asked to log in first
    page.get_by_test_id("register-link").click()
    page.get_by_role("link", name=re.compile("^个人")).click()
    page.get_by_label("真实姓名").fill("陈晓雨")
    page.get_by_label("居民身份证号码").fill(number)
    page.get_by_label("手机号码").fill("13800002468")
    page.locator("input[name=password]").fill("Kb-phone-pass-2026")
    page.locator("input[name=password_confirm]").fill("Kb-phone-pass-2026")
    page.locator("input[name=agree]").check()
    page.locator("button[type=submit].primary").click()
    expect(page.locator("h1")).to_have_text("验证手机号码")
    page.locator("input[name=code]").fill(sms_code("13800002468"))
    page.locator("button[type=submit].primary").click()

    # Back where the journey was interrupted: the application's start, ready to begin.
    expect(page).to_have_url(f"{site}/apply/bundles/B10/")
    expect(page.locator("h1")).to_contain_text("社会保障卡")
    expect(page.get_by_role("button", name="开始申请")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, "the page scrolls sideways on a phone"
    page.context.close()


def test_the_status_page_says_when_each_item_and_the_application_should_be_done(site, browser):
    citizen = UserFactory(citizen=True, username="waiting")
    application = accepted(submit(ready_application(citizen)), clerk_of("BUNDLE"))
    cases = list(application.cases.select_related("item").order_by("pk"))
    assert cases and all(c.committed_due_at for c in cases)
    last = max(c.committed_due_at for c in cases)

    page = browser.new_context(**PHONE).new_page()
    log_in(page, site, "waiting")
    page.goto(f"{site}/applications/{application.reference}/")
    expect(page.get_by_test_id("expected")).to_contain_text(f"预计 {zh_day(last)} 前办结")
    rows = page.get_by_test_id("cases").locator("tbody tr")
    expect(rows).to_have_count(len(cases))
    for case in cases:
        row = rows.filter(has_text=case.item.name_zh)
        expect(row.get_by_test_id("case-expected")).to_have_text(
            f"{zh_day(case.committed_due_at)} 前"
        )
    page.context.close()


def test_a_reviewer_narrows_the_queue_to_overdue_cases_and_reads_the_office_time_left(
    site, browser
):
    late = accepted_weeks_ago().cases.filter(overdue_at__isnull=False).first()
    assert late is not None
    fresh = accepted(submit(ready_application(UserFactory(citizen=True))), clerk_of("BUNDLE"))
    on_time = fresh.cases.get(item=late.item)
    reviewer_of(late.unit.code, username="desk")

    page = browser.new_context().new_page()
    log_in(page, site, "desk")
    page.goto(f"{site}/staff/cases/")
    queue = page.get_by_test_id("case-queue")
    left = queue.locator(f'[data-case="{on_time.pk}"]').get_by_test_id("time-left")
    expect(left).to_contain_text(re.compile(r"^剩余 "))  # office time, in the clock's own unit

    overdue_tab = page.get_by_test_id("queue-views").locator("[data-view=overdue]")
    expect(overdue_tab).to_contain_text("已超期")
    overdue_tab.click()
    page.wait_for_load_state()
    expect(overdue_tab).to_have_attribute("aria-current", "page")
    expect(queue.locator("[data-testid=case-row]")).to_have_count(
        ItemCase.objects.filter(unit=late.unit, overdue_at__isnull=False).count()
    )
    expect(queue.locator(f'[data-case="{on_time.pk}"]')).to_have_count(0)
    late_left = queue.locator(f'[data-case="{late.pk}"]').get_by_test_id("time-left")
    expect(late_left).to_contain_text(re.compile(r"^已超期 [\d.]+ (个工作日|天|分钟)"))
    page.context.close()


def test_a_supervisor_follows_overdue_from_the_dashboard_to_the_list_and_a_case(site, browser):
    application = accepted_weeks_ago(weeks=2)
    late = application.cases.filter(overdue_at__isnull=False).select_related("item").first()
    assert late is not None
    rollup_refresh(full=True)
    UserFactory(supervisor=True, username="inspector")

    page = browser.new_context().new_page()
    log_in(page, site, "inspector")
    page.goto(f"{site}/supervision/dashboard/")
    figure = page.locator('[data-testid=figure][data-figure="overdue"]')
    expect(figure.locator(".label")).to_have_text("已超期")
    expect(figure.get_by_test_id("overdue-now-link")).to_contain_text("期内标记超期")
    figure.get_by_role("link", name=re.compile("当前已超期")).click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{site}/supervision/overdue/")
    expect(page.get_by_test_id("overdue-explained")).to_be_visible()
    expect(page.get_by_test_id("overdue-explained").get_by_role("link")).to_have_attribute(
        "href", "/supervision/dashboard/"
    )
    row = page.locator(f'[data-testid=overdue-row][data-case="{late.pk}"]')
    row.get_by_test_id("case-link").click()
    page.wait_for_load_state()
    assert page.url == f"{site}/supervision/cases/{late.pk}/"
    expect(page.locator("main")).to_contain_text(application.reference)
    expect(page.locator("main")).to_contain_text(late.item.name_zh)
    page.context.close()
