"""The portal speaks Chinese first: every string the code marks for translation has a Chinese
translation, and the compiled catalog the server loads says the same as the .po file."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "kuaiban" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SOURCES = [
    *("kuaiban", "bundles", "desk", "speedup", "acceptance", "reports", "devtools", "api"),
    "manage.py",
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"GNU gettext is needed ({name}): apt-get install gettext (scripts/test does)")
    return path


def _untranslated(po: Path) -> list[str]:
    """The msgids of the entries that are untranslated or fuzzy (GNU gettext's own reading)."""
    found = []
    for selection in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(
            [_tool("msgattrib"), selection, "--no-wrap", po],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        found += re.findall(r'^msgid "(.+)"$', out, re.M)
    return found


def test_every_marked_string_has_a_chinese_translation(tmp_path):
    """Re-extract the messages from a copy of the sources: nothing new, nothing fuzzy, nothing
    empty. (A string added without its translation fails here, not in front of a citizen.)"""
    _tool("xgettext")
    copy = tmp_path / "src"
    copy.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "kuaiban.settings.dev"},
    )
    assert _untranslated(copy / PO.relative_to(ROOT)) == []


def test_the_compiled_catalog_matches_the_po_file(tmp_path):
    """The server reads django.mo: it must be compiled from the current django.po."""
    fresh = tmp_path / "django.mo"
    subprocess.run([_tool("msgfmt"), "--check-format", "-o", fresh, PO], check=True)
    with fresh.open("rb") as f:
        expected = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    with PO.with_suffix(".mo").open("rb") as f:
        shipped = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    assert shipped == expected
