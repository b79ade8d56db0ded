from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from kuaiban import views

admin.site.site_header = _("Kuaiban administration")
admin.site.site_title = _("Kuaiban")
admin.site.index_title = _("Catalogs and calendars")

urlpatterns = [
    path("", views.home, name="home"),
    path("welcome/", views.landing, name="landing"),
    path("health/", views.health, name="health"),
    path("guide/", include("kuaiban.catalog.urls")),
    path("speedup/", include("speedup.urls")),
    path("supervision/", include("acceptance.urls")),
    path("reports/", include("reports.urls")),
    path("staff/", include("desk.urls")),
    path("api/", include("api.urls")),
    path("", include("kuaiban.documents.urls")),
    path("", include("bundles.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("kuaiban.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
