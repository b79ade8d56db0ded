"""Supervision (督查), mounted at /supervision/."""

from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.programme, name="programme"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("cases/", views.cases, name="cases"),
    path("overdue/", views.overdue, name="overdue"),
    path("visits/", views.visits, name="visits"),
    path("reviews/", views.reviews, name="reviews"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:follow_up_id>/decide/", views.follow_up_decide, name="follow_up_decide"),
    path("commitment-checks/", views.commitment_checks, name="commitment_checks"),
]
