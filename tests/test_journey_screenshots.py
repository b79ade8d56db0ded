"""The phone screenshots of the citizen's journey (docs/screenshots/, `journey_screenshots`):
the command's pages exist, in the journey's order, and the committed pictures are the ones the
command writes and the README shows."""

import struct
from pathlib import Path

from django.urls import NoReverseMatch, reverse

from devtools.screenshots import SHOTS, WIDTH, tiny_png, write_readme

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = {"guide:bundle": ["B10"], "guide:index": []}


def test_every_page_of_the_journey_is_a_page_of_the_portal():
    for shot in SHOTS:
        args = ARGS.get(shot.url_name, ["KB20261202ABCDEF"])
        try:
            reverse(shot.url_name, args=args)
        except NoReverseMatch as error:
            raise AssertionError(f"{shot.name}: no page {shot.url_name}") from error
    names = [shot.url_name for shot in SHOTS]
    steps = ["questions", "form", "materials", "review", "done", "status"]
    assert names == ["guide:index", "guide:bundle", *(f"applications:{s}" for s in steps)]


def test_the_committed_screenshots_are_phone_sized_and_shown_in_the_readme():
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    for shot in SHOTS:
        png = (DOCS / f"{shot.name}.png").read_bytes()
        width, height = struct.unpack(">II", png[16:24])
        assert width == WIDTH and height >= 600, shot.name
        assert len(png) < 200_000, f"{shot.name} is {len(png)} bytes"
        assert f"({shot.name}.png)" in readme


def test_the_readme_has_a_heading_and_the_picture_of_each_step(tmp_path):
    readme = write_readme(tmp_path, SHOTS[:2], "scripts/screenshots").read_text(encoding="utf-8")
    assert "## 1. 服务指南" in readme and "![服务指南](01-guide-index.png)" in readme
    assert "## 2. 一件事 guide" in readme and "scripts/screenshots" in readme


def test_the_upload_the_journey_provides_is_a_real_png():
    png = tiny_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
