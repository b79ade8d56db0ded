"""The production settings refuse to start without real secrets and are safe by default.

Each case evaluates `kuaiban.settings.production` in a fresh interpreter with an environment
built here, so neither the test process's settings nor the caller's variables leak in.
"""

import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PROJECT = settings.BASE_DIR

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
        "X_FRAME_OPTIONS",
    ]
    print(json.dumps({name: getattr(s, name) for name in names}))
"""


def production_env(**overrides) -> dict[str, str]:
    """A complete production environment (fresh random secrets), minus keys set to None."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "kuaiban.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "KUAIBAN_DATA_KEY": Fernet.generate_key().decode(),
        "KUAIBAN_LOOKUP_KEY": secrets.token_urlsafe(32),
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


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
    database = {"DATABASE_URL": os.environ["DATABASE_URL"]} if "DATABASE_URL" in os.environ else {}
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(**database),
    )
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
