"""/api/v1/…: the open API. The schema (/api/schema/) and its docs (/api/docs/) are served from
the portal's own static files; `docs/openapi.yaml` is the committed copy CI compares against."""

from csp.constants import SELF
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import applicant, catalog, departments, metrics, staff, tokens

app_name = "api"

v1 = [
    # public: the catalog and service guides
    path("catalog/bundles/", catalog.BundleList.as_view(), name="bundles"),
    path("catalog/bundles/<str:code>/", catalog.BundleDetail.as_view(), name="bundle"),
    path("catalog/items/", catalog.ItemList.as_view(), name="items"),
    path("catalog/items/<str:code>/", catalog.ItemDetail.as_view(), name="item"),
    path("catalog/halls/", catalog.HallList.as_view(), name="halls"),
    # tokens
    path("tokens/", tokens.TokenCreate.as_view(), name="token_create"),
    path("tokens/current/", tokens.TokenRevoke.as_view(), name="token_revoke"),
    # the applicant's own applications
    path("applications/", applicant.ApplicationList.as_view(), name="applications"),
    path(
        "applications/<str:reference>/",
        applicant.ApplicationDetail.as_view(),
        name="application",
    ),
    # staff: the unit's cases and their actions, the windows' intake
    path("cases/", staff.CaseList.as_view(), name="cases"),
    path("cases/<int:case_id>/", staff.CaseDetail.as_view(), name="case"),
    *[
        path(f"cases/<int:case_id>/{action}/", view.as_view(), name=f"case_{action}")
        for action, view in staff.CASE_ACTION_VIEWS.items()
    ],
    path("intake/", staff.IntakeList.as_view(), name="intake"),
    path("intake/<str:reference>/accept/", staff.IntakeAccept.as_view(), name="intake_accept"),
    path("intake/<str:reference>/return/", staff.IntakeReturn.as_view(), name="intake_return"),
    # other departments: the requests addressed to them, and their answers
    path("department/requests/", departments.RequestList.as_view(), name="department_requests"),
    path(
        "department/requests/<int:request_id>/answer/",
        departments.RequestAnswer.as_view(),
        name="department_request_answer",
    ),
    # the programme's figures
    path("metrics/", metrics.Metrics.as_view(), name="metrics"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI draws its icons as data: images; the docs page alone allows them.
    path(
        "docs/",
        csp_update({"img-src": [SELF, "data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
]
