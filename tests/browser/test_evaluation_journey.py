"""The acceptance evaluation in a real browser (issue 14): 局行风办 opens an evaluation for B07,
records an on-site finding with a rectification date, the unit closes it with evidence (late),
the notice drafted for the month lists it, and the unit's score shows the late rectification."""

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from kuaiban.campaigns.models import Finding, Notice
from tests.builders import PDF, reviewer_of
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 12, 1, 10, tzinfo=SH)
FRIDAY = datetime(2026, 12, 4, 10, tzinfo=SH)


def test_an_on_site_finding_is_rectified_listed_in_the_notice_and_scored(site, browser, tmp_path):
    UserFactory(supervisor=True, username="office")
    reviewer_of("SBZX", username="sbzx")
    with time_machine.travel(TUESDAY, tick=True):
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        log_in(page, site, "office")
        page.goto(f"{site}/supervision/evaluations/")
        form = page.get_by_test_id("evaluation-open-form")
        form.locator("select[name=campaign]").select_option(label="KB2020 2020年人社服务快办行动")
        form.locator("select[name=bundle]").select_option(label="B07 职工退休")
        form.locator("input[name=period_start]").fill("2026-11-01")
        form.locator("input[name=period_end]").fill("2026-11-30")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "/supervision/evaluations/" in page.url
        expect(page.get_by_test_id("operation-row")).to_have_count(1)
        finding_form = page.get_by_test_id("finding-form")
        finding_form.locator("select[name=source]").select_option("on_site")
        finding_form.locator("textarea[name=text]").fill("退休一件事综合窗口未公示承诺时限")
        finding_form.locator("select[name=unit]").select_option(label="SBZX 社保中心")
        finding_form.locator("input[name=rectify_by]").fill("2026-12-02")
        finding_form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        row = page.get_by_test_id("finding-row")
        expect(row).to_have_attribute("data-state", "open")
        expect(row).to_contain_text("退休一件事综合窗口未公示承诺时限")
        page.context.close()
    finding = Finding.objects.get()

    with time_machine.travel(FRIDAY, tick=True):  # two days after the rectification date
        unit = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        log_in(unit, site, "sbzx")
        unit.goto(f"{site}/staff/findings/")
        listed = unit.locator(f'[data-testid=unit-finding][data-finding="{finding.pk}"]')
        expect(listed).to_have_class("overdue")
        listed.locator("a").click()
        unit.wait_for_load_state()
        proof = Path(tmp_path) / "公示照片.pdf"
        proof.write_bytes(PDF)
        form = unit.get_by_test_id("rectification-form")
        form.locator("textarea[name=rectification]").fill("已在综合窗口公示承诺时限")
        form.locator("input[name=evidence]").set_input_files(str(proof))
        unit.get_by_test_id("close-finding").click()
        unit.wait_for_load_state()
        expect(unit.get_by_test_id("finding")).to_have_attribute("data-state", "closed")
        expect(unit.get_by_test_id("evidence")).to_be_visible()
        unit.context.close()

        office = browser.new_context().new_page()
        log_in(office, site, "office")
        office.goto(f"{site}/supervision/notices/")
        form = office.get_by_test_id("notice-draft-form")
        form.locator("select[name=campaign]").select_option(label="KB2020 2020年人社服务快办行动")
        form.locator("input[name=period_start]").fill("2026-12-01")
        form.locator("input[name=period_end]").fill("2026-12-04")
        form.locator("button[type=submit]").click()
        office.wait_for_load_state()
        body = office.locator("textarea[name=body]")
        expect(body).to_have_value(
            re.compile("退休一件事综合窗口未公示承诺时限.*已于12月04日整改到位")
        )
        office.get_by_test_id("notice-issue-form").locator("button[type=submit]").click()
        office.wait_for_load_state()
        notice = office.get_by_test_id("notice")
        expect(notice).to_have_attribute("data-state", "issued")
        expect(notice).to_contain_text("快办通报〔2026〕1号")
        expect(notice).to_contain_text("退休一件事综合窗口未公示承诺时限")
        assert Notice.objects.get().number == 1

        office.goto(f"{site}/supervision/campaigns/KB2020/scores/")
        row = office.locator('[data-testid=score-row][data-unit="SBZX"]')
        findings_cell = row.locator('td[data-kind="findings_closed"]')
        expect(findings_cell).to_have_attribute("data-part", "0")  # rectified, but late
        expect(findings_cell).to_have_attribute("data-whole", "1")
        expect(row).to_have_attribute("data-score", "70.0")  # 30 + 0 + 25 + 15
        office.context.close()
