from django.urls import path

from . import views

app_name = "applications"
urlpatterns = [
    path("apply/bundles/<str:code>/", views.apply_bundle, name="apply_bundle"),
    path("apply/items/<str:code>/", views.apply_item, name="apply_item"),
    path("applications/", views.application_list, name="list"),
    path("applications/<str:reference>/", views.status, name="status"),
    path("applications/<str:reference>/questions/", views.questions, name="questions"),
    path("applications/<str:reference>/form/", views.application_form, name="form"),
    path(
        "applications/<str:reference>/form/persons.xlsx",
        views.persons_template,
        name="persons_template",
    ),
    path(
        "applications/<str:reference>/form/persons/upload/",
        views.persons_upload,
        name="persons_upload",
    ),
    path("applications/<str:reference>/materials/", views.materials, name="materials"),
    path("applications/<str:reference>/review/", views.review, name="review"),
    path(
        "applications/<str:reference>/returned/answer/",
        views.return_answer,
        name="return_answer",
    ),
    path("applications/<str:reference>/done/", views.done, name="done"),
    path("applications/<str:reference>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<str:reference>/object/", views.object_to_proposal, name="object"),
    path("applications/<str:reference>/rate/", views.rate, name="rate"),
    path(
        "applications/<str:reference>/rate/rectification/<int:follow_up_id>/",
        views.rate_rectification,
        name="rate_rectification",
    ),
    path(
        "applications/<str:reference>/hearings/<int:hearing_id>/answer/",
        views.hearing_answer,
        name="hearing_answer",
    ),
    path("rate/<str:token>/", views.rate_by_link, name="rate_link"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("files/<int:file_id>/", views.download, name="download"),
]
