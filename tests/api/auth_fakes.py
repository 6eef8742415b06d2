"""Small real HTTP servers for the sign-in tests: an identity provider's JWKS
endpoint and an app's "who am I" endpoint, each on its own local port.

They are fakes only in that the test decides what they answer; jobgate talks
to them over real sockets, from the test process or from a server process.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class Clock:
    """A settable clock for the sign-in caches."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Seen:
    """One request a fake server received."""

    path: str
    headers: dict[str, str]


Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[Seen], Answer]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 that answers every GET with `handle`."""

    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.seen: list[Seen] = []
        self.gate = threading.Event()  # cleared: requests wait (to test a timeout)
        self.gate.set()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
                outer.seen.append(seen)
                outer.gate.wait(30)
                status, headers, body = outer.handle(seen)
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hits(self) -> int:
        return len(self.seen)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(10)
        self._httpd.server_close()


def json_answer(status: int, body: object) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        algo = jwt.algorithms.RSAAlgorithm if self.alg == "RS256" else jwt.algorithms.ECAlgorithm
        jwk: dict[str, Any] = algo.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def new_key(alg: str) -> SigningKey:
    if alg == "RS256":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg, private)


@dataclass
class IdentityProvider:
    """Publishes some signing keys at /jwks.json and mints tokens with any key."""

    issuer: str = "https://idp.example.test/"
    audience: str = "jobgate"
    published: list[SigningKey] = field(default_factory=list)
    failing: bool = False
    server: FakeServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = FakeServer(self._answer)

    def _answer(self, seen: Seen) -> Answer:
        if self.failing:
            return json_answer(500, {"error": "down"})
        return json_answer(200, {"keys": [k.jwk() for k in self.published]})

    @property
    def jwks_url(self) -> str:
        return f"{self.server.url}/jwks.json"

    def publish(self, alg: str) -> SigningKey:
        key = new_key(alg)
        self.published.append(key)
        return key

    def token(self, key: SigningKey, sub: str = "alice", **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": sub, "iss": self.issuer, "aud": self.audience, "iat": now,
                "exp": now + 600, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid})


@dataclass
class SessionApp:
    """The app's own sign-in: opaque session tokens, sent as a bearer token or a
    `session_token` cookie, checked at /api/auth/me ("who am I")."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    status_override: int | None = None
    server: FakeServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = FakeServer(self._answer)

    @property
    def me_url(self) -> str:
        return f"{self.server.url}/api/auth/me"

    def login(self, user_id: str, **extra: Any) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.users[token] = {"id": user_id, "email": f"{user_id}@example.test", **extra}
        return token

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    def _session_of(self, seen: Seen) -> str | None:
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            return token
        for pair in seen.headers.get("cookie", "").split(";"):
            name, _, value = pair.strip().partition("=")
            if name == "session_token":
                return value
        return None

    def _answer(self, seen: Seen) -> Answer:
        if self.status_override is not None:
            return json_answer(self.status_override, {"detail": "unavailable"})
        token = self._session_of(seen)
        if token is None or token not in self.users or token in self.revoked:
            return json_answer(401, {"detail": "Not authenticated"})
        return json_answer(200, self.users[token])
