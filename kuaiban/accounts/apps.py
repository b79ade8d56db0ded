from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kuaiban.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import lockout, middleware, security_log

        security_log.connect()
        lockout.connect()
        user_logged_in.connect(middleware.on_login, dispatch_uid="kuaiban.staff_session.login")
