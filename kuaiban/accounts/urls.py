from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("register/", views.register, name="register"),
    path("register/citizen/", views.register_citizen, name="register_citizen"),
    path("register/enterprise/", views.register_enterprise, name="register_enterprise"),
    path("register/confirm/", views.register_confirm, name="register_confirm"),
    path("profile/", views.profile, name="profile"),
    path("profile/verify/", views.verify_again, name="verify_again"),
    path("password/change/", views.password_change, name="password_change"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/code/", views.password_reset_confirm, name="password_reset_confirm"),
    path("sso/login/", views.sso_login, name="sso_login"),
    path("sso/callback/", views.sso_callback, name="sso_callback"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
]
