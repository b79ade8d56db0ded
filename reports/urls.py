"""Reports (报表), mounted at /reports/."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("exports/", views.exports_view, name="exports"),
    path("exports/new/", views.export_new, name="export_new"),
    path("exports/<int:pk>/", views.export_job, name="export"),
    path("exports/<int:pk>/status.json", views.export_status, name="export_status"),
    path("exports/<int:pk>/download", views.export_download, name="download"),
    path("exports/<int:pk>/cancel", views.export_cancel, name="export_cancel"),
    path("exports/<int:pk>/retry", views.export_retry, name="export_retry"),
    path("leaders/", views.leader, name="leader"),
    path("leaders/xlsx", views.leader_xlsx, name="leader_xlsx"),
    path("leaders/<int:pk>/", views.leader_saved, name="leader_saved"),
    path("leaders/<int:pk>/xlsx", views.leader_saved_xlsx, name="leader_saved_xlsx"),
    path("leaders/<int:pk>/issued.xlsx", views.leader_issued_xlsx, name="leader_issued_xlsx"),
    path("leaders/schedules/", views.schedule_new, name="schedule_new"),
    path("leaders/schedules/<int:pk>/stop/", views.schedule_stop, name="schedule_stop"),
]
