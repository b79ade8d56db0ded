"""The citizen's journey on a phone, photographed (`manage.py journey_screenshots`).

A headless chromium (Debian's, through Playwright: a dev dependency) at 390×844 walks a demo
citizen from the guide index to the status page of a submitted application and saves one PNG a
page under docs/screenshots/, with a README.md that shows them with their captions. The page
list is `SHOTS`; each step checks that the browser is on the page its URL name says, so a
renamed page breaks the command instead of photographing the wrong one.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.urls import resolve

MAX_HEIGHT = 2600  # px: a long page (the guide index) is cut there
WIDTH, HEIGHT = 390, 844  # a phone's viewport, at one device pixel per CSS pixel


@dataclass(frozen=True)
class Shot:
    name: str  # the file's name, without .png
    url_name: str  # the page's URL name (namespace:name)
    caption: str


SHOTS = [
    Shot(
        "01-guide-index",
        "guide:index",
        "服务指南 — the guide index: a search, a choice of who applies, the bundles (一件事) by "
        "life event and the single items by area (a long page: cut at 2,600 px).",
    ),
    Shot(
        "02-bundle-guide",
        "guide:bundle",
        "一件事 guide — the bundle's items, who may apply, the materials, the promised time and "
        "visits, and 在线申请.",
    ),
    Shot(
        "03-questions",
        "applications:questions",
        "情形选择 — a few questions about the applicant's situation decide the items and the "
        "materials.",
    ),
    Shot(
        "04-form",
        "applications:form",
        "填写申请表 — one form for every item of the bundle, filled in.",
    ),
    Shot(
        "05-materials",
        "applications:materials",
        "申请材料 — one set of materials, each asked for once; what the departments hold "
        "(shared data) is not asked for.",
    ),
    Shot(
        "06-review",
        "applications:review",
        "核对并提交 — check answers: the answers, the items, the form and the materials, each "
        "with 修改, and the consent to fetch the shared data.",
    ),
    Shot(
        "07-done",
        "applications:done",
        "申请已提交 — the confirmation with the reference number and what happens next.",
    ),
    Shot(
        "08-status",
        "applications:status",
        "办理进度 — the status page once the window has accepted the application: the expected "
        "completion date of the whole application and of each item, and the timeline.",
    ),
]


def tiny_png() -> bytes:
    """A valid 8×8 white PNG: the upload the demo applicant provides for every material."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * 8 for _ in range(8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def small_png(png: bytes) -> bytes:
    """The screenshot in 256 colours (a page is flat colour and text): a fifth of the size."""
    from io import BytesIO

    from PIL import Image  # reportlab's dependency

    image = Image.open(BytesIO(png)).convert("RGB").quantize(colors=256)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def generated_resident_id() -> str:
    """A generated number with a valid check digit (never a real person's)."""
    from kuaiban.accounts.identity import resident_id_check_char

    first17 = "32100219660315901"
    return first17 + resident_id_check_char(first17)


FIELD_VALUES = {
    "date": "2026-11-02",
    "number": "3",
    "phone": "13912345678",
    "bank_account": "6222020200112233445",
    "text": "示例",
    "long_text": "示例说明",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`runserver` on the current settings and database, in a child process."""

    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        address = urlparse(self.url).netloc
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", address],
            cwd=settings.BASE_DIR,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,  # the outbox prints every e-mail and SMS
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health/", timeout=2):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("the server did not start within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


class Journey:
    def __init__(self, page, site: str, out: Path, say: Callable[[str], None]) -> None:
        self.page, self.site, self.out, self.say = page, site, out, say
        self.saved: list[Shot] = []

    def shoot(self, shot: Shot) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        found = resolve(urlparse(page.url).path).view_name
        if found != shot.url_name:
            raise RuntimeError(f"{shot.name}: expected the page {shot.url_name}, on {page.url}")
        path = self.out / f"{shot.name}.png"
        height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
        png = page.screenshot(
            full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": height}
        )
        path.write_bytes(small_png(png))
        self.saved.append(shot)
        self.say(f"  {path} ({path.stat().st_size // 1024} KB)")


def log_in(page, site: str, username: str, password: str) -> None:
    page.goto(f"{site}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


def answer_no_to_everything(page) -> None:
    names = page.eval_on_selector_all(
        "form input[type=radio]", "els => [...new Set(els.map(e => e.name))]"
    )
    for name in names:
        no = page.locator(f"input[type=radio][name='{name}'][value=no]")
        (no if no.count() else page.locator(f"input[type=radio][name='{name}']").first).check()


def fill_the_form(page) -> None:
    for element in page.locator("[data-kind]").all():
        kind = element.get_attribute("data-kind")
        if kind == "choice":
            element.select_option(index=1)
        elif kind == "yes_no":
            element.locator("input[value=yes]").check()
        elif kind == "resident_id":
            element.fill(generated_resident_id())
        elif kind in FIELD_VALUES and not element.input_value():
            element.fill(FIELD_VALUES[kind])
    download = page.locator("input[name=delivery][value=download]")
    if download.count():
        download.check()


def provide_materials(page) -> None:
    png = {"name": "scan.png", "mimeType": "image/png", "buffer": tiny_png()}
    codes = page.eval_on_selector_all("[data-material]", "els => els.map(e => e.dataset.material)")
    for code in codes:
        entry = page.locator(f"[data-material='{code}']")
        if (
            entry.locator("[data-testid=provided]").count()
            or not entry.locator("form.upload").count()
        ):
            continue
        entry.locator("form.upload input[type=file]").set_input_files(files=[png])
        entry.locator("form.upload button").click()
        page.wait_for_load_state()


def clerk_authenticator(clerk: str):
    """The clerk's confirmed authenticator device as an app would hold it (read before the
    browser starts: Playwright's sync API runs an event loop in this thread)."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user__username=clerk, confirmed=True).first()
    if device is None:
        return None
    return lambda: TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)


def accept_at_the_window(browser, site, reference, clerk, password, authenticator) -> None:
    """The demo's window clerk accepts the application (their second factor: the code of the
    demo device, as an authenticator app shows it), so the status page has its dates."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, site, clerk, password)
    if "/accounts/two-factor/" in page.url:
        if authenticator is None:
            raise RuntimeError(f"{clerk} has no confirmed authenticator device")
        page.fill("input[name=code]", f"{authenticator().token():06d}")
        page.click("button[type=submit].primary")
        page.wait_for_load_state()
    page.goto(f"{site}/staff/intake/{reference}/")
    page.get_by_test_id("accept-form").locator("button").click()
    page.wait_for_load_state()
    context.close()


def take(
    out: Path,
    *,
    site: str,
    bundle: str,
    username: str,
    password: str,
    clerk: str,
    say: Callable[[str], None],
) -> list[Shot]:
    """Walk the journey at `site` and save the shots under `out`; returns those saved."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    authenticator = clerk_authenticator(clerk)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--lang=zh-CN"],
            env={**os.environ, "LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"},  # the file inputs
        )
        context = browser.new_context(
            locale="zh-CN",
            viewport={"width": WIDTH, "height": HEIGHT},
            is_mobile=True,
            device_scale_factor=1,
        )
        page = context.new_page()
        journey = Journey(page, site, out, say)
        shots = {shot.name: shot for shot in SHOTS}
        log_in(page, site, username, password)

        page.goto(f"{site}/guide/")
        journey.shoot(shots["01-guide-index"])
        page.goto(f"{site}/guide/bundles/{bundle}/")
        journey.shoot(shots["02-bundle-guide"])
        page.get_by_test_id("apply").click()
        page.wait_for_load_state()
        if resolve(urlparse(page.url).path).view_name == "applications:apply_bundle":
            page.locator("form button.primary").first.click()  # 开始申请
            page.wait_for_load_state()
        answer_no_to_everything(page)
        journey.shoot(shots["03-questions"])
        page.click("form button.primary")
        page.wait_for_load_state()
        fill_the_form(page)
        journey.shoot(shots["04-form"])
        page.click("form button.primary")
        page.wait_for_load_state()
        provide_materials(page)
        journey.shoot(shots["05-materials"])
        page.locator("main a.button.primary").last.click()
        page.wait_for_load_state()
        consent = page.locator("input[name=consent]")
        if consent.count():
            consent.check()
        journey.shoot(shots["06-review"])
        page.get_by_test_id("submit").click()
        page.wait_for_load_state()
        journey.shoot(shots["07-done"])
        reference = page.get_by_test_id("reference").inner_text().strip()
        accept_at_the_window(browser, site, reference, clerk, password, authenticator)
        page.goto(f"{site}/applications/{reference}/")
        journey.shoot(shots["08-status"])
        browser.close()
    return journey.saved


def write_readme(out: Path, shots: list[Shot], command: str) -> Path:
    lines = [
        "# The citizen's journey on a phone",
        "",
        f"Generated by `{command}` (390×844, headless chromium, the demo data); do not edit "
        "by hand: run the command again after changing a page.",
        "",
    ]
    for number, shot in enumerate(shots, start=1):
        title, _, text = shot.caption.partition(" — ")
        text = text[:1].upper() + text[1:]
        lines += [f"## {number}. {title}", "", text, "", f"![{title}]({shot.name}.png)", ""]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
