"""The wheel carries the whole portal: every app, its templates, translations, static files and
fixtures, and an install of it alone (no working tree on the path) passes Django's checks with
the production settings."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.production_env import PROJECT, production_env

APPS = ("kuaiban", "bundles", "desk", "speedup", "acceptance", "reports", "api")
NOT_SHIPPED = ("devtools",)  # installed by the dev and test settings only


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources, so no stale build/ folder of the tree can leak in."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    for top in (*APPS, *NOT_SHIPPED):
        shutil.copytree(
            PROJECT / top, source / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    out = tmp_path_factory.mktemp("wheel")
    pip_wheel = ["pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    subprocess.run(
        [sys.executable, "-m", *pip_wheel, str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (built,) = out.glob("kuaiban-*.whl")
    return built


def shipped_files(top: str) -> set[str]:
    """What the source tree holds under `top`, as paths inside the wheel."""
    return {
        path.relative_to(PROJECT).as_posix()
        for path in (PROJECT / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_every_app_with_its_templates_translations_static_files_and_fixtures(
    wheel,
):
    names = set(zipfile.ZipFile(wheel).namelist())
    for app in APPS:
        assert f"{app}/__init__.py" in names, app
        assert shipped_files(app) <= names, sorted(shipped_files(app) - names)
    # A template of each app, the fixtures, the compiled translations and the style sheets.
    for app in ("acceptance", "accounts", "bundles", "catalog", "desk", "reports", "speedup"):
        assert any(n.startswith(f"kuaiban/templates/{app}/") for n in names), app
    assert "kuaiban/templates/base.html" in names
    for fixture in ("catalog", "office_hours", "form_fields", "demo_accounts"):
        assert f"kuaiban/fixtures/{fixture}.json" in names
    assert "kuaiban/locale/zh_Hans/LC_MESSAGES/django.mo" in names
    assert "kuaiban/locale/zh_Hans/LC_MESSAGES/django.po" in names
    assert "kuaiban/static/kuaiban.css" in names
    assert "acceptance/static/acceptance/supervision.css" in names
    assert "reports/static/reports/reports.css" in names
    # Development tools and the tests stay out.
    assert not any(n.split("/")[0] in (*NOT_SHIPPED, "tests", "bench") for n in names)


# Run inside the installed copy: every app, template, translation, static file and fixture
# comes from the install, none from the working tree.
INSTALLED_PROBE = """
import json, django
from pathlib import Path
django.setup()
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.utils import translation
import kuaiban, bundles, desk, speedup, acceptance, reports
translation.activate("zh-hans")
print(json.dumps({
    "apps": [str(Path(m.__file__).parent) for m in (kuaiban, bundles, desk, speedup, acceptance,
             reports)],
    "template": str(get_template("reports/export_job.html").origin.name),
    "css": [finders.find("kuaiban.css"), finders.find("reports/reports.css")],
    "fixtures": str(settings.KUAIBAN_FIXTURES_DIR),
    "catalog": (settings.KUAIBAN_FIXTURES_DIR / "catalog.json").is_file(),
    "log_in": translation.gettext("Log in"),
}))
"""


def test_an_install_of_the_wheel_alone_passes_the_production_checks(wheel, tmp_path):
    target = tmp_path / "site"
    pip_install = ["pip", "install", "-q", "--no-deps", "--target", str(target)]
    subprocess.run(
        [sys.executable, "-m", *pip_install, str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = production_env(PYTHONPATH=str(target))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    probe = run("-c", INSTALLED_PROBE)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    for path in (*found["apps"], found["template"], *found["css"], found["fixtures"]):
        assert path and Path(path).is_relative_to(target), path
    assert found["catalog"] is True
    assert found["log_in"] == "登录"  # the compiled translations came along

    check = run("-m", "django", "check", "--deploy", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
