"""A complete production environment for subprocesses: fresh random secrets and real parts.

The database and Redis are the test run's own (check and start-up only read their URLs; the
serving tests really use them); e-mail and SMS point at addresses nothing is sent to.
"""

import os
import secrets

from cryptography.fernet import Fernet
from django.conf import settings

PROJECT = settings.BASE_DIR


def production_env(**overrides: str | None) -> dict[str, str]:
    """The production variables (nothing else of the caller's), minus keys set to None."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "kuaiban.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "KUAIBAN_DATA_KEY": Fernet.generate_key().decode(),
        "KUAIBAN_LOOKUP_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kuaiban"
        ),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "EMAIL_HOST": "smtp.example.invalid",
        "DJANGO_DEFAULT_FROM_EMAIL": "kuaiban@hrss.example.invalid",
        "KUAIBAN_SMS_URL": "https://sms.example.invalid/send",
        "KUAIBAN_PUBLIC_URL": "https://kuaiban.hrss.example.invalid",
        "KUAIBAN_IDENTITY_URL": "https://rkk.example.invalid/verify",
        "KUAIBAN_ENTERPRISE_URL": "https://scjg.example.invalid/verify",
        "KUAIBAN_MEDIA_ROOT": "/var/lib/kuaiban/media",
        "DJANGO_STATIC_ROOT": "/var/lib/kuaiban/static",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def current_database_url() -> str:
    """The database this test run uses (the test database), as a URL for a subprocess."""
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"
