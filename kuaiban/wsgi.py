import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings.production")
application = get_wsgi_application()

# The URLconf (and every view module it imports) loaded now, in gunicorn's master with
# preload_app, not by each worker's first request.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
