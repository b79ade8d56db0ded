"""The committed schema (docs/openapi.yaml) is what the code generates: an endpoint or a field
changed without regenerating it fails here. Regenerate with
`python manage.py spectacular --lang en --validate --fail-on-warn --file docs/openapi.yaml`."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


def test_the_committed_schema_is_the_code_s(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command(
        "spectacular", "--lang", "en", "--validate", "--fail-on-warn", "--file", str(generated)
    )
    assert generated.read_text() == COMMITTED.read_text(), (
        "docs/openapi.yaml is out of date: regenerate it (see this module's docstring)"
    )


def test_the_docs_page_loads_its_scripts_from_our_static_files(client):
    """No CDN: the Swagger UI comes from drf-spectacular-sidecar's static files, and the page
    has no inline script or style (the Content-Security-Policy refuses them)."""
    page = client.get("/api/docs/").content.decode()
    assert "cdn" not in page.lower() and "<style" not in page
    assert f"{settings.STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/" in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"/api/schema/" in script.content
