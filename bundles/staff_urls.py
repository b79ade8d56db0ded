"""Staff screens: one-window intake and the back office (mounted under /staff/)."""

from django.urls import path

from . import staff_views as views

app_name = "staff"
urlpatterns = [
    path("intake/", views.intake_queue, name="intake"),
    path("intake/new/", views.intake_new, name="intake_new"),
    path("intake/new/<str:reference>/", views.intake_in_person, name="intake_in_person"),
    path("intake/<str:reference>/", views.intake_application, name="intake_application"),
    path("intake/<str:reference>/accept/", views.intake_accept, name="intake_accept"),
    path("intake/<str:reference>/return/", views.intake_return, name="intake_return"),
    path("intake/<str:reference>/refuse/", views.intake_refuse, name="intake_refuse"),
    path("intake/<str:reference>/visit/", views.intake_visit, name="intake_visit"),
    path("cases/", views.case_queue, name="cases"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/<slug:action>/", views.case_action, name="case_action"),
    path("extensions/", views.extension_list, name="extensions"),
    path("extensions/<int:request_id>/decide/", views.extension_decide, name="extension_decide"),
]
