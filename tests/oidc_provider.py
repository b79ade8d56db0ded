"""A small but real OpenID Connect provider for the tests: the provincial identity platform's
stand-in, served over HTTP on a free localhost port from a thread.

It implements what the portal uses: discovery, the authorisation endpoint (the code flow with
PKCE; it auto-approves the person set in ``provider.user``, as if they had logged in there, and
redirects back with code and state), the token endpoint (client_secret_basic or
client_secret_post; single-use codes bound to the redirect URI and the PKCE challenge; an RS256
ID token carrying the request's nonce), the key set (JWKS) and userinfo. Nothing of the portal's
client is mocked: the portal talks to this over real HTTP.

Test knobs, reset by ``reset()``: ``user`` (the claims of who logs in, ``sub`` included),
``signing_key`` (sign ID tokens with another key than the published one), ``nonce`` (put this
nonce in the ID token instead of the request's)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "kuaiban-portal"
CLIENT_SECRET = "test-client-secret-2026"
# As a real platform's pages (and what the browser journeys check of every page they load).
SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the test output stays readable
        pass


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "platform-1", "use": "sig"})
        self.server: WSGIServer = make_server("127.0.0.1", 0, self.app, handler_class=_QuietHandler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.redirect_uris: set[str] = set()
        self.reset()

    def reset(self) -> None:
        self.user: dict[str, Any] = {}
        self.signing_key: RSAKey = self.key
        self.nonce: str | None = None
        self.codes.clear()
        self.tokens.clear()
        self.redirect_uris = {"http://testserver/accounts/sso/callback/"}

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Provider:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- WSGI ------------------------------------------------------------------------------------

    def app(self, environ, start_response):
        path = environ["PATH_INFO"]
        routes = {
            "/.well-known/openid-configuration": self.discovery,
            "/authorize": self.authorize,
            "/token": self.token,
            "/jwks": self.jwks,
            "/userinfo": self.userinfo,
        }
        handler = routes.get(path)
        if handler is None:
            return self._respond(start_response, "404 Not Found", {"error": "not_found"})
        return handler(environ, start_response)

    def _respond(self, start_response, status, body, headers=()):
        data = json.dumps(body).encode()
        start_response(status, [*SECURITY_HEADERS, ("Content-Type", "application/json"), *headers])
        return [data]

    def discovery(self, environ, start_response):
        return self._respond(
            start_response,
            "200 OK",
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "profile", "phone"],
            },
        )

    def authorize(self, environ, start_response):
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if query.get("client_id") != CLIENT_ID or query.get("redirect_uri") not in (
            self.redirect_uris
        ):
            return self._respond(start_response, "400 Bad Request", {"error": "invalid_client"})
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return self._respond(start_response, "400 Bad Request", {"error": "invalid_request"})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return self._respond(start_response, "400 Bad Request", {"error": "invalid_request"})
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "nonce": query.get("nonce"),
            "challenge": query["code_challenge"],
            "user": dict(self.user),
            "at": time.time(),
        }
        location = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        start_response(
            "302 Found", [*SECURITY_HEADERS, ("Location", location), ("Content-Length", "0")]
        )
        return [b""]

    def _client_authenticated(self, environ, form) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == CLIENT_ID and secrets.compare_digest(secret, CLIENT_SECRET)

    def token(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return self._respond(start_response, "405 Method Not Allowed", {"error": "method"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if not self._client_authenticated(environ, form):
            return self._respond(start_response, "401 Unauthorized", {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # single use
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant["redirect_uri"] != form.get("redirect_uri")
            or time.time() - grant["at"] > 60
            or not secrets.compare_digest(challenge, grant["challenge"])
        ):
            return self._respond(start_response, "400 Bad Request", {"error": "invalid_grant"})
        access_token = secrets.token_urlsafe(24)
        self.tokens[access_token] = grant["user"]
        now = int(time.time())
        claims = {
            **grant["user"],
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
        }
        nonce = self.nonce if self.nonce is not None else grant["nonce"]
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode(
            {"alg": "RS256", "kid": self.signing_key.kid}, claims, self.signing_key
        )
        return self._respond(
            start_response,
            "200 OK",
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
                "scope": "openid profile phone",
            },
        )

    def jwks(self, environ, start_response):
        keys = KeySet([self.key]).as_dict(private=False)
        return self._respond(start_response, "200 OK", keys)

    def userinfo(self, environ, start_response):
        header = environ.get("HTTP_AUTHORIZATION", "")
        user = self.tokens.get(header.removeprefix("Bearer ")) if header else None
        if user is None:
            return self._respond(
                start_response,
                "401 Unauthorized",
                {"error": "invalid_token"},
                headers=[("WWW-Authenticate", "Bearer")],
            )
        return self._respond(start_response, "200 OK", user)

    # -- helpers for the tests ---------------------------------------------------------------------

    def rogue_key(self) -> RSAKey:
        """Another key with the published key's id: a forged ID token."""
        return RSAKey.generate_key(2048, parameters={"kid": self.key.kid, "use": "sig"})
