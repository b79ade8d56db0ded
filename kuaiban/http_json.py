"""One JSON POST to a configured external source (the population and market-registration checks,
the shared-data sources): a bearer token, a timeout, a bounded answer. Every way it can fail is
reduced to a short reason, never an exception, so a caller maps it to "unavailable" in one
place."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class JsonAnswer:
    body: dict | None  # the JSON object a source answered with HTTP 200, else None
    failure: str = ""  # why there is no body: "HTTP 503", "TimeoutError", "not a JSON object"


def post_json(url: str, payload: dict, *, token: str, timeout: float, max_bytes: int) -> JsonAnswer:
    request = urllib.request.Request(  # noqa: S310 - the configured http(s) endpoint
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {token}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            raw = response.read(max_bytes)
    except urllib.error.HTTPError as error:
        return JsonAnswer(None, f"HTTP {error.code}")
    except (OSError, ValueError) as error:  # timeouts, refused connections, bad URLs
        return JsonAnswer(None, type(error).__name__)
    if status != 200:
        return JsonAnswer(None, f"HTTP {status}")
    try:
        body = json.loads(raw)
    except ValueError:
        return JsonAnswer(None, "not JSON")
    if not isinstance(body, dict):
        return JsonAnswer(None, "not a JSON object")
    return JsonAnswer(body)
