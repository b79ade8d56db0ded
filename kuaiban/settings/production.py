"""Production: real parts only, safe defaults; `check --deploy --fail-level WARNING` passes.

The settings refuse to start (ImproperlyConfigured, naming the variable) rather than fall back
on the embedded default's toy parts: SQLite, an in-process cache that a calendar edit in one
process never reaches in another, Celery tasks run inline, e-mail and SMS printed to a console.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import MIDDLEWARE as BASE_MIDDLEWARE
from .base import env_bool

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of 50+ characters")

if not KUAIBAN_DATA_KEYS or not KUAIBAN_LOOKUP_KEY:  # noqa: F405
    raise ImproperlyConfigured(
        "KUAIBAN_DATA_KEY and KUAIBAN_LOOKUP_KEY must be set in production (KUAIBAN_DATA_KEY "
        "encrypts the personal numbers and, through a derived key, the uploaded documents)"
    )

# The database: PostgreSQL (row locks, COPY, percentile_cont), never the SQLite file.
POSTGRESQL_ENGINES = {
    "django.db.backends.postgresql",
    "django.contrib.gis.db.backends.postgis",
}
if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL must be set in production to a PostgreSQL URL "
        "(postgres://user:password@host:5432/kuaiban)"
    )
if DATABASES["default"]["ENGINE"] not in POSTGRESQL_ENGINES:  # noqa: F405
    raise ImproperlyConfigured(
        "DATABASE_URL must point at PostgreSQL in production (postgres://…), not "
        f"{urlsplit(os.environ['DATABASE_URL']).scheme or 'a path'}"
    )

# Redis: the shared cache (the calendar, supervision pages) and Celery's broker.
if not REDIS_URL:  # noqa: F405
    raise ImproperlyConfigured(
        "REDIS_URL must be set in production (redis://host:6379/0): the cache every process "
        "shares and Celery's broker"
    )
if urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:  # noqa: F405
    raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL")
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False

# E-mail: SMTP unless DJANGO_EMAIL_BACKEND names another real backend.
TOY_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
SMTP_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", SMTP_EMAIL_BACKEND)
if EMAIL_BACKEND in TOY_EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"DJANGO_EMAIL_BACKEND is {EMAIL_BACKEND}, which sends nothing: use "
        f"{SMTP_EMAIL_BACKEND} (the default) or a real provider's backend in production"
    )
if EMAIL_BACKEND == SMTP_EMAIL_BACKEND and not os.environ.get("EMAIL_HOST"):
    raise ImproperlyConfigured("EMAIL_HOST must be set in production (the SMTP relay)")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other: set one")
# A relay that stops answering must not hold a worker forever.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
if not os.environ.get("DJANGO_DEFAULT_FROM_EMAIL"):
    raise ImproperlyConfigured(
        "DJANGO_DEFAULT_FROM_EMAIL must be set in production (the sender the relay accepts)"
    )
SERVER_EMAIL = DEFAULT_FROM_EMAIL  # noqa: F405

# SMS: the HTTP gateway unless KUAIBAN_SMS_BACKEND names another real one.
TOY_SMS_BACKENDS = {
    "kuaiban.notifications.sms.ConsoleSMSBackend",
    "kuaiban.notifications.sms.MemorySMSBackend",
}
HTTP_SMS_BACKEND = "kuaiban.notifications.sms.HttpSMSBackend"
KUAIBAN_SMS_BACKEND = os.environ.get("KUAIBAN_SMS_BACKEND", HTTP_SMS_BACKEND)
if KUAIBAN_SMS_BACKEND in TOY_SMS_BACKENDS:
    raise ImproperlyConfigured(
        f"KUAIBAN_SMS_BACKEND is {KUAIBAN_SMS_BACKEND}, which sends nothing: use "
        f"{HTTP_SMS_BACKEND} (the default) or another real gateway in production"
    )
if KUAIBAN_SMS_BACKEND == HTTP_SMS_BACKEND and urlsplit(
    os.environ.get("KUAIBAN_SMS_URL", "")
).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        "KUAIBAN_SMS_URL must be set in production to the SMS gateway's http(s):// URL"
    )

if urlsplit(os.environ.get("KUAIBAN_PUBLIC_URL", "")).scheme != "https":
    raise ImproperlyConfigured(
        "KUAIBAN_PUBLIC_URL must be set in production to the portal's https:// address "
        "(links in SMS and e-mail)"
    )

# Real-name checks: the provincial platform's population and market-registration sources, never
# the demo's generated tables.
KUAIBAN_IDENTITY_SOURCE = os.environ.get("KUAIBAN_IDENTITY_SOURCE", "http")
KUAIBAN_ENTERPRISE_SOURCE = os.environ.get("KUAIBAN_ENTERPRISE_SOURCE", "http")
for _source, _url in (
    ("KUAIBAN_IDENTITY_SOURCE", "KUAIBAN_IDENTITY_URL"),
    ("KUAIBAN_ENTERPRISE_SOURCE", "KUAIBAN_ENTERPRISE_URL"),
):
    if os.environ.get(_source, "http") != "http":
        raise ImproperlyConfigured(
            f"{_source} must be http in production (the local source holds generated identities)"
        )
    if urlsplit(os.environ.get(_url, "")).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(
            f"{_url} must be set in production to the provincial platform's http(s):// URL"
        )

# Shared data (kuaiban/shareddata): "off" (nothing fetched, shared materials recorded as before)
# unless a kind is pointed at its department's endpoint; never the demo's generated tables.
KUAIBAN_SHARED_DATA_PROVIDER = os.environ.get("KUAIBAN_SHARED_DATA_PROVIDER", "off")
for _kind, _own in KUAIBAN_SHARED_DATA_SOURCES.items():  # noqa: F405
    _provider = _own.get("provider") or KUAIBAN_SHARED_DATA_PROVIDER
    if _provider not in {"off", "http"}:
        raise ImproperlyConfigured(
            f"The shared-data source {_kind} must be off or http in production "
            "(the local source holds generated records)"
        )
    if _provider == "http" and urlsplit(_own.get("url", "")).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(
            f"KUAIBAN_SHARED_DATA_{_kind.upper()}_URL must be set in production to the "
            "department's http(s):// URL"
        )

# Single sign-on, where configured: the platform over HTTPS, with the portal's client credentials
# (the client secret authenticates the code exchange).
if os.environ.get("KUAIBAN_OIDC_ISSUER"):
    if urlsplit(os.environ["KUAIBAN_OIDC_ISSUER"]).scheme != "https":
        raise ImproperlyConfigured(
            "KUAIBAN_OIDC_ISSUER must be the identity platform's https:// URL in production"
        )
    for _name in ("KUAIBAN_OIDC_CLIENT_ID", "KUAIBAN_OIDC_CLIENT_SECRET"):
        if not os.environ.get(_name):
            raise ImproperlyConfigured(f"{_name} must be set when KUAIBAN_OIDC_ISSUER is set")

# Uploaded materials (personal data), exports and collected static files live outside the code:
# beside an installed wheel the defaults would fall inside site-packages, lost on reinstall.
for _folder in ("KUAIBAN_MEDIA_ROOT", "DJANGO_STATIC_ROOT"):
    if not os.path.isabs(os.environ.get(_folder, "")):
        raise ImproperlyConfigured(
            f"{_folder} must be set in production to an absolute path outside the code"
        )

# Static files: collected with hashed names and pre-compressed (scripts/serve runs
# collectstatic), served by WhiteNoise straight after the security middleware (its redirects
# first) with far-future cache headers. Dev and test serve them through staticfiles.
_security = BASE_MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE = [
    *BASE_MIDDLEWARE[: _security + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *BASE_MIDDLEWARE[_security + 1 :],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Monitors and the load balancer ask for /health/ over plain HTTP on the private side.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
