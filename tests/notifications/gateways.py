"""Real gateways for the outbox's tests: an HTTP SMS gateway in a thread on a free port,
answering as scripted, and mail and SMS backends that fail."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connection

from kuaiban.notifications.sms import SMSBackend

TOKEN = "gateway-token-for-tests"


@dataclass
class Received:
    """One POST as the gateway saw it, and the status it answered."""

    message_id: int
    to: str
    text: str
    authorization: str
    content_type: str
    status: int = 0


@dataclass
class Answer:
    status: int
    body: str = ""
    delay: float = 0.0  # seconds before answering (a slow gateway, or a timeout)


def accepting(request: Received) -> Answer:
    return Answer(200, '{"accepted": true}')


def failing_then_accepting(failures: int, status: int = 500) -> Callable[[Received], Answer]:
    """Each message id fails `failures` times, then is accepted."""
    seen: dict[int, int] = {}

    def answer(request: Received) -> Answer:
        seen[request.message_id] = seen.get(request.message_id, 0) + 1
        if seen[request.message_id] <= failures:
            return Answer(status, "temporarily unavailable")
        return Answer(200, "ok")

    return answer


@dataclass
class ScriptedGateway:
    """`with ScriptedGateway(answer) as gateway:` serves `gateway.url` until the block ends.

    `answer` is called in the server's thread for each request (it may query the database from
    there: that is another connection, closed after each request)."""

    answer: Callable[[Received], Answer] = accepting
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/sms"

    def configure(self, settings) -> None:
        """Point the portal's SMS backend at this gateway."""
        settings.KUAIBAN_SMS_BACKEND = "kuaiban.notifications.sms.HttpSMSBackend"
        settings.KUAIBAN_SMS_URL = self.url
        settings.KUAIBAN_SMS_TOKEN = TOKEN

    def posts_for(self, message_id: int) -> list[Received]:
        return [r for r in self.received if r.message_id == message_id]

    def __enter__(self) -> "ScriptedGateway":
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length))
                request = Received(
                    message_id=payload["id"],
                    to=payload["to"],
                    text=payload["text"],
                    authorization=self.headers.get("Authorization", ""),
                    content_type=self.headers.get("Content-Type", ""),
                )
                try:
                    answer = gateway.answer(request)
                finally:
                    connection.close()  # this thread's database connection, if it opened one
                time.sleep(answer.delay)
                request.status = answer.status
                with gateway._lock:
                    gateway.received.append(request)
                body = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting (a timeout test)
                    pass

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


class WorkerKilled(BaseException):
    """What a dispatcher's death looks like from inside: nothing after it runs."""


class DyingSMSBackend(SMSBackend):
    """The process dies while the gateway is being called."""

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        raise WorkerKilled


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("mail server down")
