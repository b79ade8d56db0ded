"""The production settings refuse to start without real secrets and are safe by default.

Each case evaluates `kuaiban.settings.production` in a fresh interpreter with an environment
built here, so neither the test process's settings nor the caller's variables leak in.
"""

import json
import subprocess
import sys

import pytest

from tests.production_env import PROJECT, production_env

# Prints the settings a deployment relies on, or the ImproperlyConfigured message that refused
# them (any other exception is a failure of its own: a traceback and a non-zero exit).
PROBE = """
import importlib, json
from django.core.exceptions import ImproperlyConfigured
try:
    s = importlib.import_module("kuaiban.settings.production")
except ImproperlyConfigured as error:
    print(json.dumps({"refused": str(error)}))
else:
    names = [
        "DEBUG", "SECRET_KEY", "KUAIBAN_DATA_KEYS", "KUAIBAN_LOOKUP_KEY",
        "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF",
        "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
        "X_FRAME_OPTIONS", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "REDIS_URL",
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL", "SERVER_EMAIL",
        "KUAIBAN_SMS_BACKEND", "MIDDLEWARE", "STORAGES", "MEDIA_ROOT", "STATIC_ROOT",
    ]
    loaded = {name: getattr(s, name) for name in names}
    loaded["DATABASE_ENGINE"] = s.DATABASES["default"]["ENGINE"]
    loaded["MEDIA_ROOT"], loaded["STATIC_ROOT"] = str(s.MEDIA_ROOT), str(s.STATIC_ROOT)
    loaded["CACHE"] = [s.CACHES["default"]["BACKEND"], s.CACHES["default"]["LOCATION"]]
    print(json.dumps(loaded))
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )


def evaluated(env: dict[str, str]) -> dict:
    result = run(["-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "secret_key",
    [
        None,
        "",
        "kuaiban-demo-only-not-a-secret",  # the demo default of the base settings
        "x" * 49,
    ],
    ids=["unset", "empty", "demo-key", "49-characters"],
)
def test_without_a_real_secret_key_it_refuses_to_start(secret_key):
    refused = evaluated(production_env(DJANGO_SECRET_KEY=secret_key))["refused"]
    assert "DJANGO_SECRET_KEY" in refused and "50+ characters" in refused


def test_a_secret_key_of_50_characters_is_enough():
    assert evaluated(production_env(DJANGO_SECRET_KEY="k" * 50))["SECRET_KEY"] == "k" * 50


@pytest.mark.parametrize(
    "missing",
    [
        {"KUAIBAN_DATA_KEY": None},
        {"KUAIBAN_DATA_KEY": " , "},
        {"KUAIBAN_LOOKUP_KEY": None},
        {"KUAIBAN_LOOKUP_KEY": ""},
    ],
    ids=["data-key-unset", "data-key-blank", "lookup-key-unset", "lookup-key-empty"],
)
def test_without_the_personal_data_keys_it_refuses_to_start(missing):
    refused = evaluated(production_env(**missing))["refused"]
    assert "KUAIBAN_DATA_KEY" in refused and "KUAIBAN_LOOKUP_KEY" in refused


def test_without_the_data_key_uploaded_documents_could_not_be_encrypted_so_it_refuses():
    refused = evaluated(production_env(KUAIBAN_DATA_KEY=None))["refused"]
    assert "uploaded documents" in refused


def test_with_everything_set_it_is_https_only_with_secure_cookies():
    # A stray DJANGO_DEBUG cannot switch debugging on in production.
    env = production_env(DJANGO_DEBUG="true")
    loaded = evaluated(env)
    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY"] == env["DJANGO_SECRET_KEY"]
    assert loaded["KUAIBAN_DATA_KEYS"] == [env["KUAIBAN_DATA_KEY"]]
    assert loaded["KUAIBAN_LOOKUP_KEY"] == env["KUAIBAN_LOOKUP_KEY"]
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert loaded["SECURE_HSTS_SECONDS"] >= 365 * 24 * 60 * 60
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is True
    assert loaded["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["X_FRAME_OPTIONS"] == "DENY"


def test_the_deployment_check_passes_with_no_warning():
    # `check` reads the database settings but writes nothing; the test server will do.
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_check_would_catch_an_unsafe_override():
    """The check above is not vacuous: the same command fails on an unsafe override."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(DJANGO_HSTS_SECONDS="0"),
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr


@pytest.mark.parametrize(
    ("database_url", "named"),
    [
        (None, "DATABASE_URL must be set"),
        ("", "DATABASE_URL must be set"),
        ("sqlite:////srv/kuaiban/kuaiban.sqlite3", "not sqlite"),
        ("mysql://kuaiban@db/kuaiban", "not mysql"),
    ],
    ids=["unset", "empty", "sqlite", "mysql"],
)
def test_without_postgresql_it_refuses_to_start(database_url, named):
    refused = evaluated(production_env(DATABASE_URL=database_url))["refused"]
    assert "DATABASE_URL" in refused and "PostgreSQL" in refused and named in refused


@pytest.mark.parametrize("redis_url", [None, "", "memory://"], ids=["unset", "empty", "memory"])
def test_without_redis_it_refuses_to_start(redis_url):
    refused = evaluated(production_env(REDIS_URL=redis_url))["refused"]
    assert "REDIS_URL" in refused


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    ],
    ids=["console", "locmem", "dummy", "file"],
)
def test_an_email_backend_that_sends_nothing_is_refused(backend):
    refused = evaluated(production_env(DJANGO_EMAIL_BACKEND=backend))["refused"]
    assert "DJANGO_EMAIL_BACKEND" in refused and backend in refused


def test_smtp_needs_its_relay_and_a_sender():
    assert "EMAIL_HOST" in evaluated(production_env(EMAIL_HOST=None))["refused"]
    refused = evaluated(production_env(DJANGO_DEFAULT_FROM_EMAIL=None))["refused"]
    assert "DJANGO_DEFAULT_FROM_EMAIL" in refused
    refused = evaluated(production_env(EMAIL_USE_TLS="true", EMAIL_USE_SSL="true"))["refused"]
    assert "EMAIL_USE_TLS" in refused and "EMAIL_USE_SSL" in refused


@pytest.mark.parametrize(
    "backend",
    ["kuaiban.notifications.sms.ConsoleSMSBackend", "kuaiban.notifications.sms.MemorySMSBackend"],
    ids=["console", "memory"],
)
def test_an_sms_backend_that_sends_nothing_is_refused(backend):
    refused = evaluated(production_env(KUAIBAN_SMS_BACKEND=backend))["refused"]
    assert "KUAIBAN_SMS_BACKEND" in refused and backend in refused


@pytest.mark.parametrize("sms_url", [None, "", "sms.example.invalid/send"])
def test_the_http_sms_gateway_needs_its_url(sms_url):
    env = production_env(
        KUAIBAN_SMS_BACKEND="kuaiban.notifications.sms.HttpSMSBackend", KUAIBAN_SMS_URL=sms_url
    )
    assert "KUAIBAN_SMS_URL" in evaluated(env)["refused"]
    # The HTTP gateway is also what production uses when no backend is named.
    assert "KUAIBAN_SMS_URL" in evaluated(production_env(KUAIBAN_SMS_URL=sms_url))["refused"]


@pytest.mark.parametrize("url", [None, "", "http://kuaiban.example.invalid", "kuaiban.example"])
def test_links_in_messages_need_the_portals_https_address(url):
    assert "KUAIBAN_PUBLIC_URL" in evaluated(production_env(KUAIBAN_PUBLIC_URL=url))["refused"]


def test_another_real_sms_gateway_needs_no_http_url():
    env = production_env(KUAIBAN_SMS_BACKEND="vendor.sms.GatewayBackend", KUAIBAN_SMS_URL=None)
    assert evaluated(env)["KUAIBAN_SMS_BACKEND"] == "vendor.sms.GatewayBackend"


@pytest.mark.parametrize("url", [None, "", "rkk.example.invalid/verify"])
@pytest.mark.parametrize("name", ["KUAIBAN_IDENTITY_URL", "KUAIBAN_ENTERPRISE_URL"])
def test_the_real_name_sources_need_their_urls(name, url):
    assert name in evaluated(production_env(**{name: url}))["refused"]


@pytest.mark.parametrize("name", ["KUAIBAN_IDENTITY_SOURCE", "KUAIBAN_ENTERPRISE_SOURCE"])
def test_the_local_identity_tables_are_refused_in_production(name):
    refused = evaluated(production_env(**{name: "local"}))["refused"]
    assert name in refused and "generated" in refused


@pytest.mark.parametrize(
    "env",
    [
        {"KUAIBAN_SHARED_DATA_PROVIDER": "local"},
        {"KUAIBAN_SHARED_DATA_DEATH_PROVIDER": "local"},
        {"KUAIBAN_SHARED_DATA_PROVIDER": "http"},  # … but no department's URL
        {"KUAIBAN_SHARED_DATA_IDENTITY_PROVIDER": "http", "KUAIBAN_SHARED_DATA_IDENTITY_URL": "x"},
    ],
)
def test_shared_data_sources_are_off_or_real_departments_in_production(env):
    """Rule SHARED-PRODUCTION: never the generated LOCAL tables; an http source needs its URL;
    by default nothing is fetched (the shared materials are recorded as before)."""
    assert "shared-data" in evaluated(production_env(**env))["refused"].replace("_", "-").lower()


def test_a_shared_data_source_with_its_url_is_accepted_in_production():
    env = production_env(
        KUAIBAN_SHARED_DATA_SOCIAL_INSURANCE_PROVIDER="http",
        KUAIBAN_SHARED_DATA_SOCIAL_INSURANCE_URL="https://sb.example.invalid/records",
    )
    assert "refused" not in evaluated(env)


SSO = {
    "KUAIBAN_OIDC_ISSUER": "https://idp.example.invalid/oidc",
    "KUAIBAN_OIDC_CLIENT_ID": "kuaiban",
    "KUAIBAN_OIDC_CLIENT_SECRET": "a-secret-of-the-platform",
}


def test_single_sign_on_is_optional_and_runs_with_an_https_issuer_and_credentials():
    assert "refused" not in evaluated(production_env())
    assert "refused" not in evaluated(production_env(**SSO))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KUAIBAN_OIDC_ISSUER", "http://idp.example.invalid/oidc"),
        ("KUAIBAN_OIDC_CLIENT_ID", None),
        ("KUAIBAN_OIDC_CLIENT_SECRET", ""),
    ],
)
def test_single_sign_on_needs_https_and_the_client_credentials(name, value):
    assert name in evaluated(production_env(**{**SSO, name: value}))["refused"]


@pytest.mark.parametrize("folder", ["KUAIBAN_MEDIA_ROOT", "DJANGO_STATIC_ROOT"])
@pytest.mark.parametrize("value", [None, "", "var/media"], ids=["unset", "empty", "relative"])
def test_uploads_and_static_files_need_their_own_folders(folder, value):
    refused = evaluated(production_env(**{folder: value}))["refused"]
    assert folder in refused and "absolute path" in refused


def test_with_everything_set_it_runs_on_postgresql_redis_smtp_and_the_sms_gateway():
    env = production_env()
    loaded = evaluated(env)
    assert loaded["DATABASE_ENGINE"] == "django.db.backends.postgresql"
    assert loaded["CACHE"] == ["django.core.cache.backends.redis.RedisCache", env["REDIS_URL"]]
    assert loaded["CELERY_BROKER_URL"] == env["REDIS_URL"]
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert loaded["EMAIL_HOST"] == env["EMAIL_HOST"]
    assert loaded["EMAIL_TIMEOUT"] > 0
    sender = env["DJANGO_DEFAULT_FROM_EMAIL"]
    assert loaded["DEFAULT_FROM_EMAIL"] == loaded["SERVER_EMAIL"] == sender
    assert loaded["KUAIBAN_SMS_BACKEND"] == "kuaiban.notifications.sms.HttpSMSBackend"
    # Static files from WhiteNoise, right after the security middleware, hashed and compressed.
    middleware = loaded["MIDDLEWARE"]
    security = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware[security + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"
    assert loaded["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert "csp.middleware.CSPMiddleware" in middleware
    assert loaded["MEDIA_ROOT"] == env["KUAIBAN_MEDIA_ROOT"]
    assert loaded["STATIC_ROOT"] == env["DJANGO_STATIC_ROOT"]


# What a worker, beat or the WSGI server loads when nobody names the settings.
DEFAULT_SETTINGS_PROBE = """
import json, sys
from django.conf import settings
if sys.argv[1] == "celery":
    from kuaiban.celery import app
    loaded = {"broker": app.conf.broker_url, "eager": app.conf.task_always_eager}
else:
    from kuaiban.wsgi import application
    loaded = {}
print(json.dumps({**loaded, "settings": settings.SETTINGS_MODULE, "debug": settings.DEBUG}))
"""


@pytest.mark.parametrize("entry", ["celery", "wsgi"])
def test_celery_and_wsgi_default_to_the_production_settings(entry):
    env = production_env(DJANGO_SETTINGS_MODULE=None)
    result = run(["-c", DEFAULT_SETTINGS_PROBE, entry], env)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["settings"] == "kuaiban.settings.production"
    assert loaded["debug"] is False
    if entry == "celery":
        assert loaded["broker"] == env["REDIS_URL"] and loaded["eager"] is False


def test_a_celery_worker_without_the_production_variables_refuses_to_start():
    env = production_env(DJANGO_SETTINGS_MODULE=None, DATABASE_URL=None)
    result = run(["-m", "celery", "-A", "kuaiban", "worker", "--pool=solo"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DATABASE_URL" in result.stderr


def test_manage_py_still_defaults_to_the_demo_settings():
    env = {"PATH": production_env()["PATH"]}
    result = run(["manage.py", "diffsettings", "--output", "unified"], env)
    assert result.returncode == 0, result.stderr
    assert "'devtools'" in result.stdout  # dev.py adds the development tools
