"""The SMS interface: `send(phone, text, *, message_id)`, chosen by `KUAIBAN_SMS_BACKEND`.

A backend returns when the gateway accepted the message. It raises `SMSRejected` when the
gateway refused it for good (the message is dead-lettered at once, never retried) and any other
exception when the failure may pass (the outbox retries with backoff).

The HTTP gateway contract (`HttpSMSBackend`)
--------------------------------------------
Settings: ``KUAIBAN_SMS_URL`` (the endpoint), ``KUAIBAN_SMS_TOKEN`` (a bearer token),
``KUAIBAN_SMS_TIMEOUT`` (seconds allowed to connect, and to each read of the answer;
default 5).

Each message is one request::

    POST <KUAIBAN_SMS_URL>
    Authorization: Bearer <KUAIBAN_SMS_TOKEN>
    Content-Type: application/json; charset=utf-8

    {"id": 1234, "to": "13812345678", "text": "【快办】…"}

``id`` is the outbox row's id and the idempotency key: the portal may send the same id more than
once (a dispatcher that crashed after the gateway accepted, an answer lost on the way back), and
the gateway must then deliver the text only once.

The answer:

- 2xx: accepted; the body is ignored. The row is marked sent.
- 4xx: refused for good (bad number, bad token, malformed request). The row is dead at once and
  its error says so; an administrator can put it back in the queue after fixing the cause.
- anything else (5xx, a redirect), a timeout or a connection error: temporary. The row is tried
  again with exponential backoff, up to ``KUAIBAN_NOTIFY_MAX_ATTEMPTS`` attempts.
"""

import http.client
import json
import logging
import urllib.error
import urllib.request
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from kuaiban.accounts.identity import mask_phone

logger = logging.getLogger("kuaiban.sms")

# How much of a gateway's answer is kept in the error (enough to read, never a whole page).
ANSWER_EXCERPT = 200


class SMSRejected(Exception):
    """The gateway refused the message for good: retrying cannot help."""


class SMSUnavailable(Exception):
    """The gateway could not take the message now: retry later."""


class SMSBackend:
    def send(self, phone: str, text: str, *, message_id: int) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """The demo: the message goes to the log, the number masked."""

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        logger.info("SMS %s to %s: %s", message_id, mask_phone(phone), text)


class SentSMS(NamedTuple):
    phone: str
    text: str
    message_id: int


class MemorySMSBackend(SMSBackend):
    """Keeps messages in `outbox` (tests)."""

    outbox: list[SentSMS] = []

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        self.outbox.append(SentSMS(phone, text, message_id))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without its body: treat it as an answer."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpSMSBackend(SMSBackend):
    """The bureau's SMS gateway over HTTP (the contract is in this module's docstring)."""

    def __init__(self) -> None:
        self.url = settings.KUAIBAN_SMS_URL
        self.token = settings.KUAIBAN_SMS_TOKEN
        self.timeout = float(settings.KUAIBAN_SMS_TIMEOUT)
        if not self.url.startswith(("http://", "https://")):
            raise ImproperlyConfigured("KUAIBAN_SMS_URL must be an http:// or https:// URL")
        if not self.token:
            raise ImproperlyConfigured("KUAIBAN_SMS_TOKEN must be set for the HTTP SMS gateway")
        self.opener = urllib.request.build_opener(_NoRedirects)

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        payload = {"id": message_id, "to": phone, "text": text}
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                response.read(ANSWER_EXCERPT)
        except urllib.error.HTTPError as error:
            answer = _excerpt(error)
            if 400 <= error.code < 500:
                raise SMSRejected(
                    f"gateway refused the message for good (HTTP {error.code}), "
                    f"not retried: {answer}"
                ) from None
            raise SMSUnavailable(f"gateway answered HTTP {error.code}: {answer}") from None
        except (OSError, http.client.HTTPException) as error:  # timeouts, refused, reset
            raise SMSUnavailable(f"gateway unreachable: {error!r}") from None


def _excerpt(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(ANSWER_EXCERPT).decode(errors="replace").strip()
    except (OSError, http.client.HTTPException):
        return ""
