"""The demo's external departments (医保局, 公积金中心 …), answering over real HTTP with the
real API, as a department's own system would: list its cases, accept (start review) and approve
each, and answer the requests the bureau sent it.

Its credentials: at start the simulator rotates each external unit's live client (issuing one
where there is none), in this installation's database, and keeps the fresh secrets in memory
only. No secret is written to a file, and a simulator started again simply takes over (the
previous run's credentials stop working)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from django.urls import reverse

from kuaiban.catalog.models import Unit

from .models import DepartmentClient
from .services import client_issue, client_rotate

logger = logging.getLogger(__name__)

REPLY = "经核查，情况属实，同意。（模拟部门自动答复）"
TIMEOUT = 10


@dataclass
class Department:
    code: str
    credential: str


def departments_enrolled() -> list[Department]:
    """A fresh credential for every external unit (rotated, or issued)."""
    enrolled = []
    for unit in Unit.objects.filter(kind=Unit.Kind.EXTERNAL).order_by("code"):
        client = DepartmentClient.objects.filter(unit=unit, revoked_at__isnull=True).first()
        issued = client_rotate(client=client) if client else client_issue(unit=unit)
        enrolled.append(Department(unit.code, issued.credential))
    return enrolled


class Api:
    """The API at `base_url` as one department."""

    def __init__(self, http: requests.Session, base_url: str, department: Department) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {department.credential}"}

    def pages(self, path: str) -> Iterator[dict]:
        url: str | None = self.base + path  # the first page; the API names the next
        while url:
            response = self.http.get(url, headers=self.headers, timeout=TIMEOUT)
            response.raise_for_status()
            page = response.json()
            yield from page["results"]
            url = page.get("next")

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return self.http.post(
            self.base + path, json=body or {}, headers=self.headers, timeout=TIMEOUT
        )


def simulate_round(http: requests.Session, base_url: str, departments: list[Department]) -> Counter:
    """One pass for every department: answer its open requests, then accept and approve each of
    its open cases. Returns what was done (answered, started, approved, refused)."""
    done: Counter = Counter()
    for department in departments:
        api = Api(http, base_url, department)
        for request in list(api.pages(reverse("api:department_requests"))):
            response = api.post(
                reverse("api:department_request_answer", args=[request["id"]]), {"reply": REPLY}
            )
            done["answered" if response.ok else "refused"] += 1
        for case in list(api.pages(reverse("api:cases"))):
            actions = case["actions"]
            if "start_review" in actions:
                response = api.post(reverse("api:case_start-review", args=[case["id"]]))
                if not response.ok:
                    done["refused"] += 1
                    continue
                done["started"] += 1
                actions = response.json()["actions"]
            if "approve" in actions:
                response = api.post(reverse("api:case_approve", args=[case["id"]]))
                done["approved" if response.ok else "refused"] += 1
                logger.info("%s approved case %s (%s)", department.code, case["id"], case["item"])
    return done
