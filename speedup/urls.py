from django.urls import path

from . import views

app_name = "speedup"
urlpatterns = [path("", views.metrics, name="metrics")]
