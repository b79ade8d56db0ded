"""The rating link sent by SMS after a conclusion: a signed token naming the application, so the
person rates without logging in (the link reached their phone). It expires with the rating period
and a rating through it is still once per case."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from kuaiban.cases.models import Application

SALT = "kuaiban.ratings.link"


def rating_token(application: Application) -> str:
    return signing.dumps(application.pk, salt=SALT, compress=True)


def rating_url(application: Application) -> str:
    """The absolute link for an SMS or e-mail."""
    path = reverse("applications:rate_link", kwargs={"token": rating_token(application)})
    return settings.KUAIBAN_PUBLIC_URL + path


def application_for_token(token: str, *, max_age_days: int) -> Application | None:
    """The application a valid, unexpired token names; None otherwise."""
    try:
        pk = signing.loads(token, salt=SALT, max_age=max_age_days * 86400)
    except signing.BadSignature:
        return None
    return Application.objects.select_related("bundle", "item").filter(pk=pk).first()
