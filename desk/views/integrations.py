"""The administrators' status page of the integrations (/staff/integrations/): one section per
kind of integration, each built by a function from its selectors and shown by its own partial
template: the shared-data sources, and the departments' API clients with their webhooks' backlog.
Another section is one more entry in SECTIONS and one more partial."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.decorators import administrator_required
from kuaiban.departments.selectors import department_status
from kuaiban.shareddata.selectors import source_statuses


@dataclass(frozen=True)
class IntegrationSection:
    """A section of the page: its heading, the partial that shows it, and what it shows."""

    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


def shared_data_section() -> IntegrationSection:
    return IntegrationSection(
        key="shared-data",
        title=str(_("Shared-data sources")),
        template="desk/integrations/_shared_data.html",
        context={"sources": source_statuses(), "now": timezone.now()},
    )


def departments_section() -> IntegrationSection:
    return IntegrationSection(
        key="departments",
        title=str(_("Departments over the API")),
        template="desk/integrations/_departments.html",
        context={"department_status": department_status()},
    )


SECTIONS: list[Callable[[], IntegrationSection]] = [shared_data_section, departments_section]


@administrator_required
def integrations_status(request):
    return render(
        request,
        "desk/integrations.html",
        {"sections": [build() for build in SECTIONS]},
    )
