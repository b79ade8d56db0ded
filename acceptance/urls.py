"""Supervision (督查), mounted at /supervision/."""

from django.urls import path

from . import (
    campaign_views,
    evaluation_views,
    invitation_views,
    notice_views,
    precheck_views,
    views,
)

app_name = "supervision"
urlpatterns = [
    path("", views.programme, name="programme"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("cases/", views.cases, name="cases"),
    path("cases/<int:case_id>/", views.case, name="case"),
    path("overdue/", views.overdue, name="overdue"),
    path("visits/", views.visits, name="visits"),
    path("reviews/", views.reviews, name="reviews"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:follow_up_id>/decide/", views.follow_up_decide, name="follow_up_decide"),
    path("commitment-checks/", views.commitment_checks, name="commitment_checks"),
    path("invitations/", invitation_views.invitations, name="invitations"),
    path("prechecks/", precheck_views.prechecks, name="prechecks"),
    path("campaigns/", campaign_views.campaign_list, name="campaigns"),
    path("campaigns/<str:code>/", campaign_views.campaign_detail, name="campaign"),
    path("campaigns/<str:code>/launch/", campaign_views.campaign_launch, name="campaign_launch"),
    path("campaigns/<str:code>/copy/", campaign_views.campaign_copy, name="campaign_copy"),
    path("filings/<int:task_id>/", campaign_views.filing, name="filing"),
    path("campaigns/<str:code>/scores/", notice_views.scores, name="scores"),
    path("notices/", notice_views.notice_list, name="notices"),
    path("notices/draft/", notice_views.notice_draft, name="notice_draft"),
    path("notices/<int:notice_id>/", notice_views.notice_detail, name="notice"),
    path("notices/<int:notice_id>/edit/", notice_views.notice_edit, name="notice_edit"),
    path("notices/<int:notice_id>/issue/", notice_views.notice_issue, name="notice_issue"),
    path("notices/<int:notice_id>/xlsx", notice_views.notice_xlsx, name="notice_xlsx"),
    path("evaluations/", evaluation_views.evaluation_list, name="evaluations"),
    path("evaluations/open/", evaluation_views.evaluation_open, name="evaluation_open"),
    path(
        "evaluations/<int:evaluation_id>/",
        evaluation_views.evaluation_detail,
        name="evaluation",
    ),
    path(
        "evaluations/<int:evaluation_id>/<slug:step>/",
        evaluation_views.evaluation_step,
        name="evaluation_step",
    ),
    path("filings/<int:task_id>/review/", campaign_views.filing_review, name="filing_review"),
]
