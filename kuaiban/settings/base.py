"""Base settings. Everything secret or machine-specific comes from the environment.

With no environment variables set the portal runs on the embedded default: SQLite in the project
folder, an in-process cache and no message broker (deadline tracking then runs in-process).
``DATABASE_URL`` selects PostgreSQL; ``REDIS_URL`` selects Redis for Celery and the cache.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

# The package carries its templates, static files, translations and fixtures, so an installed
# wheel runs without the source tree; BASE_DIR is only the default home of local data (var/).
PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PACKAGE_DIR.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The demo key is only good for the embedded default; production settings refuse to start without
# a real DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "kuaiban-demo-only-not-a-secret")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API docs' Swagger UI, served from our static files
    # the shared kernel
    "kuaiban.catalog",
    "kuaiban.accounts",
    # django-axes (log-in lock-outs). After accounts: a failed log-in is recorded before the
    # lock-out it causes.
    "kuaiban.accounts.lockout_app.LockoutsConfig",
    "kuaiban.workdays",
    "kuaiban.cases",
    "kuaiban.notifications",
    "kuaiban.ratings",
    "kuaiban.documents",
    "kuaiban.commitments",
    "kuaiban.campaigns",
    "kuaiban.shareddata",
    "kuaiban.proactive",
    "kuaiban.precheck",
    "kuaiban.departments",
    # the programme's three tasks and their supervision
    "bundles",
    "desk",
    "speedup",
    "acceptance",
    "reports",
    # the open API over the same services (issue 15)
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kuaiban.requestid.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kuaiban.middleware.LanguageSwitchMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.otp_device: django-otp's OTPMiddleware minus the is_verified() it would add.
    "kuaiban.accounts.middleware.OTPDeviceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff only: the idle and absolute session limits, then the second factor (TOTP).
    "kuaiban.accounts.middleware.StaffSessionMiddleware",
    "kuaiban.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a locked-out log-in into the lock-out page (kuaiban.accounts.views.locked_out).
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy: scripts, styles and everything else from our own origin only, never
# inline (an injected <script> or style attribute does not run), and no framing. Inline SVG
# charts use presentation attributes (fill, stroke), which the policy allows.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

ROOT_URLCONF = "kuaiban.urls"
WSGI_APPLICATION = "kuaiban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kuaiban.workdays.context_processors.calendar_coverage_warning",
                "kuaiban.optional_cache.context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'kuaiban.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Seconds a Redis call may take: an unreachable Redis costs a request this long, never a hang.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("KUAIBAN_REDIS_TIMEOUT", "1"))
# Registration POSTs allowed per client IP per hour (kuaiban/accounts/throttle.py).
REGISTRATION_ATTEMPTS_PER_HOUR = int(os.environ.get("KUAIBAN_REGISTRATION_PER_HOUR", "10"))
# Password-reset requests (by SMS code) allowed per client IP per hour (same module).
PASSWORD_RESET_ATTEMPTS_PER_HOUR = int(os.environ.get("KUAIBAN_PASSWORD_RESET_PER_HOUR", "10"))
# Codes checked on the public verification page of result documents, per client IP per hour.
VERIFICATION_ATTEMPTS_PER_HOUR = int(os.environ.get("KUAIBAN_VERIFICATION_PER_HOUR", "60"))
# After a cache error, seconds before a process tries the cache again (kuaiban/optional_cache.py):
# meanwhile every read is a miss and the pages are computed from the database.
KUAIBAN_CACHE_RETRY_SECONDS = float(os.environ.get("KUAIBAN_CACHE_RETRY_SECONDS", "30"))
# Database connections a recompute's batches and a sweep's backlog run on at once
# (kuaiban/parallel.py); 1 runs them one after the other.
KUAIBAN_BATCH_CONNECTIONS = max(1, int(os.environ.get("KUAIBAN_BATCH_CONNECTIONS", "2")))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kuaiban",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out name before any password is checked (it logs nobody in).
    "axes.backends.AxesStandaloneBackend",
    # Applicants log in with their ID number or credit code; staff with their username.
    "kuaiban.accounts.backends.IdentityNumberBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Log-in lock-out (django-axes, kuaiban/accounts/lockout.py): after AXES_FAILURE_LIMIT failed
# log-ins with one name from one IP address, that name is locked for that address (the same name
# from another address is not) for AXES_COOLOFF_TIME after the last counted failure; attempts
# while locked are refused without being counted. Any name locks alike, existing or not. An
# administrator lifts a lock-out in the admin (recorded in the security log).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("KUAIBAN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("KUAIBAN_LOGIN_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful log-in clears that name's failures from that address: a person who mistyped
# four times and then got in does not start the next day one failure from a lock-out.
AXES_RESET_ON_SUCCESS = True
# An ID number counts under a keyed hash (never in clear), in any spelling of its final X.
AXES_USERNAME_CALLABLE = "kuaiban.accounts.lockout.lock_name"
AXES_CLIENT_IP_CALLABLE = "kuaiban.accounts.security_log.client_ip"
AXES_LOCKOUT_CALLABLE = "kuaiban.accounts.views.locked_out"
# The security log (SecurityEvent) records log-ins; axes keeps only the counted failures.
AXES_DISABLE_ACCESS_LOG = True
# kuaiban/accounts/admin.py registers the attempts, read-only but for the audited unlock.
AXES_ENABLE_ADMIN = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"  # staff: their workbench (kuaiban.views.WORKBENCH)
LOGOUT_REDIRECT_URL = "home"

# Chinese first, English available through the language switch.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Uploaded materials live outside the static root and are served only through authorised views.
MEDIA_ROOT = Path(os.environ.get("KUAIBAN_MEDIA_ROOT", BASE_DIR / "var" / "media"))

# Sessions live in the database, never only in the cache: a logged-in user keeps working with
# Redis down.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 60 * 60)))
X_FRAME_OPTIONS = "DENY"
# Staff sessions (kuaiban/accounts/middleware.py) end after this many minutes without a request,
# and this many hours after the log-in whatever the activity; applicants keep SESSION_COOKIE_AGE.
KUAIBAN_STAFF_IDLE_MINUTES = int(os.environ.get("KUAIBAN_STAFF_IDLE_MINUTES", "30"))
KUAIBAN_STAFF_SESSION_HOURS = int(os.environ.get("KUAIBAN_STAFF_SESSION_HOURS", "10"))
# The second factor of every staff account: a TOTP authenticator app (django-otp). The issuer
# names the portal in the app; the Django admin never shows a device's secret key.
OTP_TOTP_ISSUER = os.environ.get("KUAIBAN_TOTP_ISSUER", "Kuaiban")
# A staff account may set up its authenticator only this long after it was created or an
# administrator last set its password: a password alone, learnt later, cannot enrol a device.
KUAIBAN_TOTP_ENROL_HOURS = int(os.environ.get("KUAIBAN_TOTP_ENROL_HOURS", "72"))
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# SMS goes through a small backend interface; the demo prints messages on the console.
# Production: kuaiban.notifications.sms.HttpSMSBackend (the gateway contract is in sms.py).
KUAIBAN_SMS_BACKEND = os.environ.get(
    "KUAIBAN_SMS_BACKEND", "kuaiban.notifications.sms.ConsoleSMSBackend"
)
KUAIBAN_SMS_URL = os.environ.get("KUAIBAN_SMS_URL", "")
KUAIBAN_SMS_TOKEN = os.environ.get("KUAIBAN_SMS_TOKEN", "")
KUAIBAN_SMS_TIMEOUT = float(os.environ.get("KUAIBAN_SMS_TIMEOUT", "5"))
# The portal's public address, for links in SMS and e-mail (the 好差评 rating link).
# The CJK TrueType font embedded in the result documents' PDFs (Debian's fonts-wqy-zenhei;
# kuaiban/documents/pdf.py says why this one).
KUAIBAN_PDF_FONT = os.environ.get(
    "KUAIBAN_PDF_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
)
# The pre-check's text extraction of uploads (kuaiban/precheck/text.py): Debian's tesseract-ocr
# (+ tesseract-ocr-chi-sim) and poppler-utils; missing, the NAME_IN_MATERIAL rules stay silent.
KUAIBAN_TESSERACT = os.environ.get("KUAIBAN_TESSERACT", "tesseract")
KUAIBAN_PDFTOTEXT = os.environ.get("KUAIBAN_PDFTOTEXT", "pdftotext")
KUAIBAN_OCR_TIMEOUT_SECONDS = float(os.environ.get("KUAIBAN_OCR_TIMEOUT_SECONDS", "60"))
KUAIBAN_PUBLIC_URL = os.environ.get("KUAIBAN_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Real-name checks (kuaiban/accounts/identity_sources.py has the HTTP contract): "local" reads
# the generated reference tables (demo, tests); "http" asks the provincial platform.
KUAIBAN_IDENTITY_SOURCE = os.environ.get("KUAIBAN_IDENTITY_SOURCE", "local")
KUAIBAN_ENTERPRISE_SOURCE = os.environ.get("KUAIBAN_ENTERPRISE_SOURCE", "local")
KUAIBAN_IDENTITY_URL = os.environ.get("KUAIBAN_IDENTITY_URL", "")
KUAIBAN_ENTERPRISE_URL = os.environ.get("KUAIBAN_ENTERPRISE_URL", "")
KUAIBAN_IDENTITY_TOKEN = os.environ.get("KUAIBAN_IDENTITY_TOKEN", "")
KUAIBAN_IDENTITY_TIMEOUT = float(os.environ.get("KUAIBAN_IDENTITY_TIMEOUT", "5"))
# Shared data fetched at submission (kuaiban/shareddata/providers.py has the HTTP contract).
# KUAIBAN_SHARED_DATA_PROVIDER ("local", "http" or "off") for every kind, overridden per kind by
# KUAIBAN_SHARED_DATA_<KIND>_PROVIDER; each kind's URL, token and timeout (seconds) likewise
# (KIND = IDENTITY, BUSINESS_LICENCE, DEATH, SOCIAL_INSURANCE, EDUCATION; an earlier filing in
# this portal is always read locally).
KUAIBAN_SHARED_DATA_PROVIDER = os.environ.get("KUAIBAN_SHARED_DATA_PROVIDER", "local")
KUAIBAN_SHARED_DATA_TIMEOUT = float(os.environ.get("KUAIBAN_SHARED_DATA_TIMEOUT", "3"))
KUAIBAN_SHARED_DATA_SOURCES = {
    kind: {
        key: os.environ[f"KUAIBAN_SHARED_DATA_{kind.upper()}_{key.upper()}"]
        for key in ("provider", "url", "token", "timeout")
        if f"KUAIBAN_SHARED_DATA_{kind.upper()}_{key.upper()}" in os.environ
    }
    for kind in ("identity", "business_licence", "death", "social_insurance", "education")
}
# The circuit breaker: after this many consecutive failures a source is not called for the
# cool-down (seconds); the retry task backs off from RETRY_SECONDS doubling up to a day, and
# gives up (the record stays pending, listed on /staff/integrations/) after MAX_ATTEMPTS.
KUAIBAN_SHARED_DATA_BREAKER_FAILURES = int(
    os.environ.get("KUAIBAN_SHARED_DATA_BREAKER_FAILURES", "3")
)
KUAIBAN_SHARED_DATA_BREAKER_COOLDOWN = float(
    os.environ.get("KUAIBAN_SHARED_DATA_BREAKER_COOLDOWN", "300")
)
KUAIBAN_SHARED_DATA_RETRY_SECONDS = float(os.environ.get("KUAIBAN_SHARED_DATA_RETRY_SECONDS", "60"))
KUAIBAN_SHARED_DATA_MAX_ATTEMPTS = int(os.environ.get("KUAIBAN_SHARED_DATA_MAX_ATTEMPTS", "12"))
# Single sign-on through the provincial identity platform (统一身份认证, OpenID Connect;
# kuaiban/accounts/sso.py): off while the issuer is empty. The issuer's discovery document
# (ISSUER/.well-known/openid-configuration) gives the endpoints and keys; the portal's callback
# to register with the platform is /accounts/sso/callback/.
KUAIBAN_OIDC_ISSUER = os.environ.get("KUAIBAN_OIDC_ISSUER", "").rstrip("/")
KUAIBAN_OIDC_CLIENT_ID = os.environ.get("KUAIBAN_OIDC_CLIENT_ID", "")
KUAIBAN_OIDC_CLIENT_SECRET = os.environ.get("KUAIBAN_OIDC_CLIENT_SECRET", "")
KUAIBAN_OIDC_SCOPE = os.environ.get("KUAIBAN_OIDC_SCOPE", "openid profile phone")
# The ID token's claim with the person's resident ID number.
KUAIBAN_OIDC_ID_CLAIM = os.environ.get("KUAIBAN_OIDC_ID_CLAIM", "id_number")
KUAIBAN_OIDC_TIMEOUT = float(os.environ.get("KUAIBAN_OIDC_TIMEOUT", "5"))
# A notification that failed this many times is dead: no more automatic attempts.
KUAIBAN_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("KUAIBAN_NOTIFY_MAX_ATTEMPTS", "8"))
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "noreply@kuaiban.invalid")

# Celery: with REDIS_URL a real worker and beat run the timers; without it tasks run eagerly
# in-process, so the embedded default still works with no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands an unacknowledged message (acks_late: a killed worker's task) to another worker
# after this many seconds; longer than the longest job (a 100 k-row export takes ~30 s), or a
# job still running would be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("KUAIBAN_CELERY_VISIBILITY_TIMEOUT", "7200"))
}

# Excel exports (reports/): a running export that has not ticked for STALE seconds (a killed
# worker) is re-queued by the sweeper, a queued one nobody picked up after QUEUED seconds too,
# at most REQUEUES times, then failed; files are deleted after RETENTION days. Without a broker
# (the demo) a request only queues the export and the timer process (`run_timers`) runs it.
KUAIBAN_EXPORT_STALE_SECONDS = int(os.environ.get("KUAIBAN_EXPORT_STALE_SECONDS", "120"))
KUAIBAN_EXPORT_QUEUED_SECONDS = int(os.environ.get("KUAIBAN_EXPORT_QUEUED_SECONDS", "600"))
KUAIBAN_EXPORT_REQUEUES = int(os.environ.get("KUAIBAN_EXPORT_REQUEUES", "2"))
KUAIBAN_EXPORT_RETENTION_DAYS = int(os.environ.get("KUAIBAN_EXPORT_RETENTION_DAYS", "7"))
KUAIBAN_EXPORTS_RUN_BY_TIMERS = not REDIS_URL

# Personal data at rest (see kuaiban/accounts/crypto.py). Empty: derived from SECRET_KEY (demo).
KUAIBAN_DATA_KEYS = env_list("KUAIBAN_DATA_KEY", [])
KUAIBAN_LOOKUP_KEY = os.environ.get("KUAIBAN_LOOKUP_KEY", "")

# Uploaded materials: accepted types are sniffed from the content, never from the file name.
KUAIBAN_UPLOAD_MAX_BYTES = int(os.environ.get("KUAIBAN_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
KUAIBAN_UPLOADS_PER_APPLICATION = int(os.environ.get("KUAIBAN_UPLOADS_PER_APPLICATION", "40"))
# One request (a clerk's sitting at the window carries a scan per material) may carry this much.
KUAIBAN_UPLOAD_MAX_REQUEST_BYTES = int(
    os.environ.get("KUAIBAN_UPLOAD_MAX_REQUEST_BYTES", str(10 * KUAIBAN_UPLOAD_MAX_BYTES))
)
# The limits are enforced while the body streams in (kuaiban/cases/uploads.py), not after.
FILE_UPLOAD_HANDLERS = [
    "kuaiban.cases.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# The reference data (catalog, office hours) and the demo accounts, loaded by management commands.
KUAIBAN_FIXTURES_DIR = PACKAGE_DIR / "fixtures"

# The open API (/api/v1/, issue 15): JSON only (no browsable pages: they need inline script),
# a bearer token first (so an unauthenticated call answers 401 with WWW-Authenticate), the
# session for the portal's own pages. Others' records are 404, as on the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kuaiban.accounts.api_tokens.PersonalTokenAuthentication",
        "kuaiban.departments.authentication.DepartmentClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pages",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.CallerThrottle"],
}
# Calls a minute per caller (api/throttling.py): the platform's and departments' clients poll.
KUAIBAN_API_CALLS_PER_MINUTE = {
    "anonymous": int(os.environ.get("KUAIBAN_API_CALLS_ANONYMOUS", "60")),
    "person": int(os.environ.get("KUAIBAN_API_CALLS_PERSON", "120")),
    "department": int(os.environ.get("KUAIBAN_API_CALLS_DEPARTMENT", "1200")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kuaiban open API",
    "DESCRIPTION": (
        "The fast-track services portal's API for applicants, staff, the provincial platform "
        "and other departments. Authenticate with `Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}
KUAIBAN_API_TOKEN_HOURS = int(os.environ.get("KUAIBAN_API_TOKEN_HOURS", "720"))
KUAIBAN_API_TOKEN_HOURS_STAFF = int(os.environ.get("KUAIBAN_API_TOKEN_HOURS_STAFF", "8"))
# Webhooks to the departments (kuaiban/departments/webhooks.py): a POST's timeout in seconds, and
# the failed attempts after which a delivery is dead (backoff 1 min, 2, 4 … at most an hour).
KUAIBAN_WEBHOOK_TIMEOUT = float(os.environ.get("KUAIBAN_WEBHOOK_TIMEOUT", "5"))
KUAIBAN_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("KUAIBAN_WEBHOOK_MAX_ATTEMPTS", "10"))

# Warn administrators when fewer than this many days ahead are covered by a loaded calendar.
KUAIBAN_CALENDAR_HORIZON_DAYS = 90

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes narrates every log-in at INFO; the kuaiban.security lines say what matters.
    "loggers": {"axes": {"level": "WARNING"}},
}
