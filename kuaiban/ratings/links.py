"""The rating links: a signed token naming the application and the channel it was given
through — the SMS sent at the conclusion, or the QR code the window shows — so the person rates
without logging in (the link reached their phone, or they stood at the window). It expires with
the rating period, and a rating through it is still once per case."""

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from kuaiban.cases.models import Application

from .models import Channel, RatingPolicy

SALT = "kuaiban.ratings.link"
LINK_CHANNELS = (Channel.SMS_LINK, Channel.WINDOW)


def rating_token(application: Application, channel: str = Channel.SMS_LINK) -> str:
    if channel not in LINK_CHANNELS:
        raise ValueError(f"no rating link for channel {channel!r}")
    return signing.dumps({"a": application.pk, "c": channel}, salt=SALT, compress=True)


def rating_url(application: Application, channel: str = Channel.SMS_LINK) -> str:
    """The absolute link for an SMS, an e-mail or a QR code."""
    token = rating_token(application, channel)
    return settings.KUAIBAN_PUBLIC_URL + reverse("applications:rate_link", kwargs={"token": token})


def rating_qr_svg(application: Application) -> SafeString:
    """The window's QR code of the rating link, as inline SVG (drawn here: no script, no
    external image, so the strict Content-Security-Policy holds)."""
    code = segno.make(rating_url(application, Channel.WINDOW), error="m")
    return mark_safe(code.svg_inline(scale=4, title="好差评"))  # noqa: S308 (segno's own markup)


def application_for_token(token: str) -> tuple[Application, str] | tuple[None, None]:
    """The application a valid, unexpired token names, and its channel; (None, None) otherwise.
    A token lives as long as the rating period (and a day: it was signed at the conclusion)."""
    max_age_days = RatingPolicy.current().rating_days + 1
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age_days * 86400)
        pk, channel = payload["a"], payload["c"]
    except (signing.BadSignature, TypeError, KeyError):
        return None, None
    if channel not in LINK_CHANNELS:
        return None, None
    application = Application.objects.select_related("bundle", "item").filter(pk=pk).first()
    return (application, channel) if application else (None, None)
