"""The real-name sources behind `verify_identity` / `verify_enterprise`: the LOCAL tables of
generated identities, and the HTTP contract of the provincial platform, tested against a real
HTTP server started here (http.server in a thread)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kuaiban.accounts.identity_sources import Verdict, verify_enterprise, verify_identity
from kuaiban.accounts.services import reference_enterprises_load, reference_identities_load
from tests.factories import generated_credit_code, generated_resident_id

pytestmark = pytest.mark.django_db


def test_the_local_source_verifies_a_generated_identity_under_its_name_only():
    number = generated_resident_id()
    reference_identities_load([("测试甲", number)])
    assert verify_identity("测试甲", number) == Verdict.VERIFIED
    assert verify_identity("测试乙", number) == Verdict.MISMATCH
    assert verify_identity("测试甲", generated_resident_id()) == Verdict.MISMATCH


def test_the_local_source_verifies_an_enterprise_with_its_legal_representative():
    code = generated_credit_code()
    reference_enterprises_load([(code, "测试科技有限公司", "测试丙")])
    assert verify_enterprise(code, "测试科技有限公司", "测试丙") == Verdict.VERIFIED
    assert verify_enterprise(code, "测试科技有限公司", "测试丁") == Verdict.MISMATCH
    assert verify_enterprise(code, "别的公司", "测试丙") == Verdict.MISMATCH


class Platform:
    """A provincial platform on a free local port: answers as told, records what it was sent."""

    def __init__(self):
        self.status = 200
        self.body = b'{"result": "match"}'
        self.delay = 0.0
        self.requests: list[tuple[str, dict, dict]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                platform.requests.append(
                    (self.path, dict(self.headers), json.loads(self.rfile.read(length)))
                )
                time.sleep(platform.delay)
                self.send_response(platform.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(platform.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform(settings):
    server = Platform()
    settings.KUAIBAN_IDENTITY_SOURCE = settings.KUAIBAN_ENTERPRISE_SOURCE = "http"
    settings.KUAIBAN_IDENTITY_URL = server.url + "/population/verify"
    settings.KUAIBAN_ENTERPRISE_URL = server.url + "/market/verify"
    settings.KUAIBAN_IDENTITY_TOKEN = "token-for-tests"
    settings.KUAIBAN_IDENTITY_TIMEOUT = 0.5
    yield server
    server.stop()


def test_the_http_source_sends_the_contract_request_and_reads_match(platform):
    number = generated_resident_id()
    assert verify_identity("测试甲", number) == Verdict.VERIFIED
    path, headers, body = platform.requests[0]
    assert path == "/population/verify"
    assert headers["Authorization"] == "Bearer token-for-tests"
    assert headers["Content-Type"].startswith("application/json")
    assert body == {"name": "测试甲", "id_number": number}


def test_the_http_source_reads_mismatch(platform):
    platform.body = b'{"result": "mismatch"}'
    assert verify_identity("测试甲", generated_resident_id()) == Verdict.MISMATCH


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"result": "match"}'), (503, b""), (404, b""), (200, b"<html>"), (200, b"{}")],
    ids=["500", "503", "404", "not-json", "no-result"],
)
def test_the_http_source_is_unavailable_on_errors_and_answers_outside_the_contract(
    platform, status, body
):
    platform.status, platform.body = status, body
    assert verify_identity("测试甲", generated_resident_id()) == Verdict.UNAVAILABLE


def test_the_http_source_is_unavailable_on_a_timeout(platform):
    platform.delay = 1.5
    started = time.monotonic()
    assert verify_identity("测试甲", generated_resident_id()) == Verdict.UNAVAILABLE
    assert time.monotonic() - started < 1.4


def test_the_http_source_is_unavailable_when_nothing_listens(platform, settings):
    with socket.socket() as probe:  # a free port, closed again: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.KUAIBAN_IDENTITY_URL = f"http://127.0.0.1:{port}/population/verify"
    assert verify_identity("测试甲", generated_resident_id()) == Verdict.UNAVAILABLE


def test_the_enterprise_http_source_sends_code_name_and_representative(platform):
    code = generated_credit_code()
    platform.body = b'{"result": "mismatch"}'
    assert verify_enterprise(code, "测试科技有限公司", "测试丙") == Verdict.MISMATCH
    path, _headers, body = platform.requests[0]
    assert path == "/market/verify"
    assert body == {"credit_code": code, "name": "测试科技有限公司", "representative": "测试丙"}
