"""A small history built through the real services, in time order, with time_machine.

Four weeks of November 2026 (2026-11-02 Monday … 11-29 Sunday) and a little of October: bundles
concluded at the window, instant items approved by reviewers, a licence on time, one paused, one
late, one in statutory mode, open cases that became overdue and one that breached the statutory
limit, a two-stage bundle, a returned and a refused application, visits, three halls in two
districts and the city. The deadline sweep runs every evening, so flags fire on real dates.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from acceptance.figures import SINGLE_ITEMS
from acceptance.rollups import rollup_refresh
from bundles.services import handling, intake, materials, submission
from kuaiban.cases.models import Application, ItemCase
from kuaiban.catalog.models import (
    Bundle,
    District,
    Material,
    ServiceHall,
    ServiceItem,
    Unit,
    Window,
)
from speedup.services.sweep import deadlines_sweep
from tests.builders import single_item_submitted, submitted, upload
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
PERIOD = (date(2026, 11, 2), date(2026, 11, 29))
ALL_WINDOWS = ("SOCIAL", "EMPLOY", "TALENT", "LABOUR", "BUNDLE")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@dataclass
class History:
    clerks: dict = field(default_factory=dict)  # hall code → clerk
    reviewers: dict = field(default_factory=dict)  # unit code → reviewer
    apps: dict = field(default_factory=dict)  # name → application
    steps: list = field(default_factory=list)

    def clerk(self, hall_code: str):
        if hall_code not in self.clerks:
            clerk = UserFactory(clerk=True, hall=ServiceHall.objects.get(code=hall_code))
            clerk.windows.add(*Window.objects.filter(code__in=ALL_WINDOWS))
            self.clerks[hall_code] = clerk
        return self.clerks[hall_code]

    def reviewer(self, unit_code: str):
        if unit_code not in self.reviewers:
            self.reviewers[unit_code] = UserFactory(
                reviewer=True, unit=Unit.objects.get(code=unit_code)
            )
        return self.reviewers[unit_code]

    def at(self, moment: datetime, action) -> None:
        self.steps.append((moment, len(self.steps), action))

    def run(self) -> None:
        for moment, _n, action in sorted(self.steps, key=lambda s: (s[0], s[1])):
            with time_machine.travel(moment, tick=False):
                action()
        self.steps = []

    # -- the actions -------------------------------------------------------------------------

    def case(self, name: str, item_code: str | None = None) -> ItemCase:
        cases = self.apps[name].cases.all()
        return cases.get(item__code=item_code) if item_code else cases.get()

    def submit_bundle(self, name, code, answers=None):
        self.apps[name] = submitted(code, answers=answers)

    def submit_item(self, name, item_name):
        self.apps[name] = single_item_submitted(item_name)

    def accept(self, name, hall, **kwargs):
        intake.application_accept(application=self.apps[name], actor=self.clerk(hall), **kwargs)

    def approve(self, name, item_code=None):
        case = self.case(name, item_code)
        handling.case_approve(case=case, actor=self.reviewer(case.unit.code))

    def start_review(self, name, item_code=None):
        case = self.case(name, item_code)
        handling.case_start_review(case=case, actor=self.reviewer(case.unit.code))

    def pause(self, name, item_code=None):
        case = self.case(name, item_code)
        reviewer = self.reviewer(case.unit.code)
        handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证")

    def resume(self, name, item_code=None):
        case = self.case(name, item_code)
        handling.case_resume(case=case, actor=self.reviewer(case.unit.code))

    def statutory(self, name, item_code=None):
        case = self.case(name, item_code)
        handling.case_statutory_mode(
            case=case, actor=self.reviewer(case.unit.code), reason="需现场核查经营场所"
        )

    def on_site_check(self, name, item_code):
        case = self.case(name, item_code)
        handling.case_on_site_check(
            case=case, actor=self.reviewer(case.unit.code), note="核对失业证明原件"
        )

    def visit(self, name, hall):
        intake.visit_record(application=self.apps[name], actor=self.clerk(hall), purpose="窗口")


def licence(h: History, name: str, hall: str, accepted: datetime):
    h.at(accepted - timedelta(minutes=30), lambda: h.submit_item(name, "劳务派遣经营许可"))
    h.at(accepted, lambda: h.accept(name, hall))


def build_history() -> History:
    h = History()
    # Instant bundles concluded at the window in one sitting (城区, 广陵区, 邗江区).
    card = {"BANK_OUTLET": True, "INSURED": True}
    for name, hall, moment in (
        ("card-gl-1", "HALL-321002", at(2026, 11, 3, 10)),
        ("card-hj-1", "HALL-321003", at(2026, 11, 10, 10)),
        ("card-gl-2", "HALL-321002", at(2026, 11, 17, 10)),
        ("card-city-1", "HALL-CITY", at(2026, 11, 24, 10)),
        ("card-hj-2", "HALL-321003", at(2026, 11, 25, 10)),
    ):
        h.at(moment - timedelta(minutes=5), lambda n=name: h.submit_bundle(n, "B10", card))
        h.at(moment, lambda n=name, hl=hall: h.visit(n, hl))
        h.at(moment, lambda n=name, hl=hall: h.accept(n, hl, conclude_instant=True))
    # Another visit the same day is the same trip; one the next day is a second: the goal is one.
    h.at(at(2026, 11, 17, 9, 58), lambda: h.visit("card-gl-2", "HALL-321002"))
    h.at(at(2026, 11, 18, 9, 30), lambda: h.visit("card-gl-2", "HALL-321002"))

    # A batch card (time-limited) with instant items approved by the back office.
    h.at(at(2026, 11, 4, 9, 30), lambda: h.submit_bundle("card-batch", "B10"))
    h.at(at(2026, 11, 4, 10), lambda: h.accept("card-batch", "HALL-CITY"))
    for item in ("SI-025", "SI-026"):
        h.at(at(2026, 11, 4, 10, 20), lambda i=item: h.approve("card-batch", i))
    h.at(at(2026, 11, 4, 11, 15), lambda: h.approve("card-batch", "EX-005"))  # 75 minutes
    h.at(at(2026, 11, 6, 15), lambda: h.approve("card-batch", "SI-016"))

    # Licences (劳动关系处, 10 working days committed, 20 statutory).
    licence(h, "lic-on-time", "HALL-321002", at(2026, 11, 2, 10))
    h.at(at(2026, 11, 9, 10), lambda: h.approve("lic-on-time"))

    licence(h, "lic-paused", "HALL-321003", at(2026, 11, 2, 10))
    h.at(at(2026, 11, 3, 9), lambda: h.start_review("lic-paused"))
    h.at(at(2026, 11, 4, 9), lambda: h.pause("lic-paused"))
    h.at(at(2026, 11, 6, 9), lambda: h.resume("lic-paused"))
    h.at(at(2026, 11, 12, 10), lambda: h.approve("lic-paused"))

    licence(h, "lic-late", "HALL-CITY", at(2026, 11, 2, 10))
    h.at(at(2026, 11, 24, 10), lambda: h.approve("lic-late"))

    licence(h, "lic-statutory", "HALL-321002", at(2026, 11, 9, 10))
    h.at(at(2026, 11, 10, 10), lambda: h.statutory("lic-statutory"))
    h.at(at(2026, 11, 20, 10), lambda: h.approve("lic-statutory"))

    # Open and overdue (no decision): held by a reviewer, one paused on the way.
    licence(h, "lic-open", "HALL-321003", at(2026, 11, 3, 10))
    h.at(at(2026, 11, 4, 10), lambda: h.start_review("lic-open"))
    licence(h, "lic-breach", "HALL-321002", at(2026, 10, 12, 10))
    h.at(at(2026, 10, 13, 10), lambda: h.start_review("lic-breach"))
    h.at(at(2026, 10, 14, 10), lambda: h.pause("lic-breach"))
    h.at(at(2026, 10, 15, 10), lambda: h.resume("lic-breach"))
    licence(h, "lic-fresh", "HALL-CITY", at(2026, 11, 26, 10))  # accepted, not due yet

    # Returned once for the photo, resubmitted, accepted; then a stage-2 bundle.
    def return_retirement():
        clerk = h.clerk("HALL-CITY")
        photo = Material.objects.get(code="M-PHOTO")
        intake.application_return(
            application=h.apps["retire"], actor=clerk, material_ids=[photo.pk], note="照片不清晰"
        )

    def resubmit_retirement():
        application = h.apps["retire"]
        photo = Material.objects.get(code="M-PHOTO")
        materials.material_upload(
            application=application, actor=application.applicant, material=photo, upload=upload()
        )
        submission.application_submit(application=application, actor=application.applicant)

    h.at(at(2026, 11, 5, 9), lambda: h.submit_bundle("retire", "B07"))
    h.at(at(2026, 11, 5, 10), return_retirement)
    h.at(at(2026, 11, 18, 9), resubmit_retirement)
    h.at(at(2026, 11, 18, 10), lambda: h.accept("retire", "HALL-CITY"))

    h.at(at(2026, 11, 16, 9, 30), lambda: h.submit_bundle("jobless", "B03"))
    h.at(at(2026, 11, 16, 10), lambda: h.accept("jobless", "HALL-321002"))
    for item in ("EM-002", "EM-003"):
        h.at(at(2026, 11, 16, 10, 10), lambda i=item: h.approve("jobless", i))
    # The same bundle kept its promise of no visit.
    h.at(at(2026, 11, 19, 9, 30), lambda: h.submit_bundle("jobless-2", "B03"))
    h.at(at(2026, 11, 19, 10), lambda: h.accept("jobless-2", "HALL-CITY"))
    for item in ("EM-002", "EM-003", "SI-004", "EX-002"):
        h.at(at(2026, 11, 19, 10, 10), lambda i=item: h.approve("jobless-2", i))
    # Promised no visit (online, downloaded, no item needs one), yet called in for a check.
    h.at(at(2026, 11, 20, 10), lambda: h.on_site_check("jobless", "SI-004"))
    for item in ("SI-004", "EX-002"):
        h.at(at(2026, 11, 23, 14), lambda i=item: h.approve("jobless", i))

    # Refused at intake; submitted and never accepted.
    def refuse():
        intake.application_refuse(
            application=h.apps["refused"],
            actor=h.clerk("HALL-321002"),
            reason="不属于本市管辖",
            legal_basis="《行政许可法》第三十二条",
        )

    h.at(at(2026, 11, 11, 9), lambda: h.submit_bundle("refused", "B10"))
    h.at(at(2026, 11, 11, 10), refuse)
    h.at(at(2026, 11, 27, 16), lambda: h.submit_bundle("waiting", "B10"))

    # The sweep, every evening from the first acceptance to the end of the period.
    day = date(2026, 10, 12)
    while day <= PERIOD[1]:
        h.at(at(day.year, day.month, day.day, 20), deadlines_sweep)
        day += timedelta(days=1)
    h.run()
    for application in h.apps.values():
        application.refresh_from_db()
    return h


@pytest.fixture
def history(db, clerk_of, reviewer_of) -> History:
    return build_history()


def application_count() -> int:
    return Application.objects.count()


def cache_cut(monkeypatch) -> None:
    """From now on every read and write of the cache fails, as with Redis unreachable."""
    from django.core.cache import caches

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache unreachable (test)")

    backend = type(caches["default"])
    for method in ("get", "set", "add"):
        monkeypatch.setattr(backend, method, unreachable)


END_OF_PERIOD = at(2026, 11, 29, 22)


def refreshed(**kwargs):
    with time_machine.travel(END_OF_PERIOD, tick=False):
        return rollup_refresh(**kwargs)


def filter_cases():
    """(name, filters) pairs: none, each dimension, and combinations."""
    return [
        ("none", {}),
        ("unit", {"unit": Unit.objects.get(code="LDGX").pk}),
        ("district", {"district": District.objects.get(code="321002").pk}),
        (
            "district+unit",
            {
                "district": District.objects.get(code="321003").pk,
                "unit": Unit.objects.get(code="XXZX").pk,
            },
        ),
        ("hall", {"hall": ServiceHall.objects.get(code="HALL-CITY").pk}),
        ("bundle", {"bundle": Bundle.objects.get(code="B10").pk}),
        ("single items", {"bundle": SINGLE_ITEMS}),
        ("window", {"window": Window.objects.get(code="LABOUR").pk}),
        ("item", {"item": ServiceItem.objects.get(code="SI-025").pk}),
    ]
