"""A local stand-in for Bot Framework's token signing keys (OpenID metadata and JWKS).

botbuilder fetches these with the blocking `requests` library from inside the
event loop, so this stand-in runs its own HTTP server in a thread: served from
the test's loop, the fetch would wait for itself forever.

`issue_token` signs a token as the Bot Framework channel would for Teams;
tokens signed with any other key, or with the wrong claims, must be refused.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://api.botframework.com"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class IdentityStandIn:
    def __init__(self, key_id: str = "test-signing-key") -> None:
        self.key_id = key_id
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    def __enter__(self) -> IdentityStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue_token(self, *, audience: str, service_url: str, **claims: Any) -> str:
        """A channel token for `audience` (the bot's app id), valid for an hour. A claim given
        as None is left out (a token without `exp`, say)."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + 3600,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def _documents(self) -> dict[str, dict[str, Any]]:
        public = self._key.public_key().public_numbers()
        return {
            "/v1/.well-known/openidconfiguration": {
                "issuer": ISSUER,
                "authorization_endpoint": f"{self.base_url}/v1/auth",
                "jwks_uri": f"{self.base_url}/v1/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            },
            "/v1/keys": {
                "keys": [
                    {
                        "kty": "RSA",
                        "use": "sig",
                        "kid": self.key_id,
                        "n": _b64(public.n),
                        "e": _b64(public.e),
                        "endorsements": ["msteams"],
                    }
                ]
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                document = stand_in._documents().get(self.path)
                body = json.dumps(document or {"error": "not found"}).encode()
                self.send_response(200 if document else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
