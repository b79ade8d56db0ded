"""Real-browser journeys: Playwright driving Debian's chromium against a live server."""

import os
import shutil
import time
from base64 import b32decode
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Response

# Playwright's sync API keeps an event loop in the test thread; the live server's ORM calls
# from fixtures and assertions are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def site(live_server, committed_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return live_server.url


def log_in(page, site, username, password="pw-for-tests-2026"):
    """Log in on the log-in page; a staff account then passes its second factor as a person
    does: on their first log-in they read the key the set-up page shows (as an authenticator
    app would) and type its code; later, the code of the device confirmed then."""
    page.goto(f"{site}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    from kuaiban.accounts import second_factor
    from kuaiban.accounts.models import User

    if second_factor.required(User.objects.filter(username=username).first()):
        assert "/accounts/two-factor/" in page.url, page.url
        _pass_the_second_factor(page, username)


def _pass_the_second_factor(page, username) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if "/accounts/two-factor/setup/" in page.url:
        secret = page.get_by_test_id("totp-secret").inner_text()
        code = totp_code(b32decode("".join(secret.split())))
    else:
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        code = totp_code(device.bin_key, after_step=device.last_t)
    page.fill("input[name=code]", code)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "/accounts/two-factor/" not in page.url, page.url


def totp_code(key: bytes, after_step: int = -1) -> str:
    """What an authenticator app shows (RFC 6238, 30 s steps): the current step's code, or the
    next step's (the device accepts one step ahead) when that step's code was used already."""
    from django_otp.oath import TOTP

    totp = TOTP(key)
    now = time.time()
    for ahead in (0, 1):
        totp.time = now + 30 * ahead
        if totp.t() > after_step:
            return f"{totp.token():06d}"
    time.sleep(30 - now % 30 + 0.5)
    return totp_code(key, after_step)


# Chromium reports a blocked inline script or style on the console itself; the listener also
# catches what it might word differently (report-only, an eval).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI
    + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


@dataclass
class CSPWatch:
    """Every page a journey opened, with its Content-Security-Policy, and every violation."""

    documents: list[tuple[str, str | None]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("CSP violation"):
            self.violations.append(message.text)

    def response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.append((response.url, response.headers.get("content-security-policy")))


@pytest.fixture(autouse=True)
def csp_watch(monkeypatch):
    """Every browser context a journey opens is watched: at the end, every page it loaded
    carried the Content-Security-Policy header and the browser reported no violation."""
    watch = CSPWatch()
    original_new_context = Browser.new_context

    def watched_new_context(self, *args, **kwargs):
        context = original_new_context(self, *args, **kwargs)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", watch.console)
        context.on("response", watch.response)
        return context

    monkeypatch.setattr(Browser, "new_context", watched_new_context)
    yield watch
    assert not watch.violations, watch.violations
    assert not [url for url, policy in watch.documents if not policy], watch.documents


# -- accessibility: axe-core, from the axe-playwright-python package (no CDN) -----------------

SERIOUS = tuple(os.environ.get("AXE_IMPACTS", "serious,critical").split(","))


def axe_violations(page, *, impacts=SERIOUS) -> list[dict]:
    """Run axe-core in the page as it is now and return the violations of these impacts.

    The script comes from the installed package and is evaluated through the DevTools protocol,
    which the page's Content-Security-Policy does not govern (an inline <script> would be
    blocked, and reported by `csp_watch`)."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state()
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v["impact"] in impacts]


def axe_report(found: dict[str, list[dict]]) -> str:
    """The violations per page, readable: rule, impact, help, and each node's target."""
    lines = []
    for url, violations in found.items():
        for violation in violations:
            lines.append(f"{url}: {violation['id']} ({violation['impact']}) {violation['help']}")
            for node in violation["nodes"][:10]:
                target = " ".join(str(t) for t in node["target"])
                lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)
