"""A loopback Databricks workspace for the credential and response tests.

It serves what databricks-sdk and the predictor ask a workspace for: host metadata, OIDC discovery,
an OAuth token endpoint (client credentials, Basic auth) and one serving endpoint whose answers
can be scripted. Error bodies echo whatever credential they received, as a careless server might.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENT_ID = "6f1c2b9e-0000-4a4a-9c9c-campaign-sp"
# Shaped like a Databricks OAuth secret, so the sanitizer's pattern is exercised as well.
CLIENT_SECRET = "dose0123456789abcdef0123456789abcdef"
ACCESS_PREFIX = "eyJoauthAccessToken"


class FakeWorkspace:
    """A ThreadingHTTPServer on 127.0.0.1 acting as a Databricks workspace.

    ``answers`` is a list of ``(status, body, headers)`` consumed one invocation at a time; when
    it is empty the endpoint answers one ``1.5`` per row. ``token`` is a personal access token the
    endpoint also accepts. ``token_lifetime`` is the OAuth tokens' ``expires_in`` in seconds.
    """

    def __init__(self, token: str | None = None, token_lifetime: int = 3600) -> None:
        self.token = token
        self.token_lifetime = token_lifetime
        self.answers: list[tuple[int, Any, dict[str, str]]] = []
        self.issued: list[str] = []
        self.authorizations: list[str | None] = []
        self.token_requests = 0
        self.invocations = 0
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        workspace = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                workspace._get(self)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                workspace._post(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeWorkspace:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, endpoint: str = "m") -> str:
        """The invocations URL of serving endpoint ``endpoint``."""
        return f"{self.base}/serving-endpoints/{endpoint}/invocations"

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Queue one answer of the serving endpoint (``body`` is JSON-encoded unless bytes/str)."""
        self.answers.append((status, body, headers or {}))

    # -- handlers -----------------------------------------------------------------------------------

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = dict(headers or {})
        if isinstance(body, str | bytes):
            data = body.encode() if isinstance(body, str) else body
            headers.setdefault("Content-Type", "text/plain")
        else:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        with contextlib.suppress(OSError):
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/.well-known/databricks-config":
            self._send(handler, 200, {"oidc_endpoint": f"{self.base}/oidc", "workspace_id": "42"})
        elif handler.path == "/oidc/.well-known/oauth-authorization-server":
            self._send(
                handler,
                200,
                {
                    "authorization_endpoint": f"{self.base}/oidc/v1/authorize",
                    "token_endpoint": f"{self.base}/oidc/v1/token",
                },
            )
        else:
            self._send(handler, 404, {"error_code": "NOT_FOUND", "message": handler.path})

    def _post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        if handler.path == "/oidc/v1/token":
            self._token(handler)
        elif handler.path.startswith("/serving-endpoints/"):
            self._invoke(handler, body)
        else:
            self._send(handler, 404, {"error_code": "NOT_FOUND", "message": handler.path})

    def _token(self, handler: BaseHTTPRequestHandler) -> None:
        header = handler.headers.get("Authorization") or ""
        try:
            user, _, secret = (
                base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            )
        except ValueError:
            user, secret = "", ""
        with self._lock:
            self.token_requests += 1
            if (user, secret) != (CLIENT_ID, CLIENT_SECRET):
                self._send(
                    handler,
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": f"Client authentication failed for {secret}",
                    },
                )
                return
            access = f"{ACCESS_PREFIX}{next(self._counter):04d}abcdefghijklmnop"
            self.issued.append(access)
        self._send(
            handler,
            200,
            {"access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime},
        )

    def _invoke(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        authorization = handler.headers.get("Authorization")
        with self._lock:
            self.invocations += 1
            self.authorizations.append(authorization)
            accepted = {f"Bearer {t}" for t in [*self.issued[-1:], self.token] if t}
            scripted = self.answers.pop(0) if self.answers else None
        if authorization not in accepted:
            message = f"Invalid access token {authorization}"
            self._send(handler, 401, {"error_code": "UNAUTHENTICATED", "message": message})
            return
        if scripted is None:
            try:
                rows = len(json.loads(body)["dataframe_split"]["data"])
            except (ValueError, KeyError, TypeError):
                rows = 1
            scripted = (200, {"predictions": [1.5] * rows}, {})
        self._send(handler, *scripted)
