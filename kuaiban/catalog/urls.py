from django.urls import path

from . import views

app_name = "guide"
urlpatterns = [
    path("", views.guide_index, name="index"),
    path("bundles/<str:code>/", views.bundle_detail, name="bundle"),
    path("items/<str:code>/", views.item_detail, name="item"),
]
