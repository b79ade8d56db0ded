"""A request id for every request, carried to the event log and the logs."""

import re
import uuid
from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
# A client's or proxy's id is kept only when well formed: 16 to 64 letters, digits and dashes,
# starting with a letter or digit (a UUID, nginx's 32 hex digits). Anything else (a path, markup,
# a line break, a short or an endless string) is replaced: it goes into logs and the event log.
_WELL_FORMED = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]{15,63}\Z")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _WELL_FORMED.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response.headers["X-Request-ID"] = request_id
        return response
