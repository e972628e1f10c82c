"""A local stand-in for the identity services a deployed bot talks to.

- Bot Framework's token signing keys (OpenID metadata and JWKS): `issue_token`
  signs a token as the Bot Framework channel would for Teams; tokens signed
  with any other key, or with the wrong claims, must be refused.
- Microsoft Entra's signing keys for a tenant (`/{tenant}/discovery/v2.0/keys`):
  `issue_entra_token` signs a token as Entra does for the Teams tab's single sign-on
  (`aud` the app's Application ID URI, `iss` and `tid` the tenant, `oid` the person).
- The managed identity endpoint of Azure App Service and Container Apps, from
  which a bot deployed with `AUDITBOT_APP_TYPE=UserAssignedMSI` gets the token
  it sends to the Bot Connector. MSAL finds it through the IDENTITY_ENDPOINT
  and IDENTITY_HEADER environment variables (`managed_identity_environment`),
  asks `GET ?api-version=2019-08-01&resource=...&client_id=...` with the header
  `X-IDENTITY-HEADER`, and gets `access_token` and `expires_on` back, as the
  App Service reference documents. The tokens it issued are in `issued`, so the
  Bot Connector stand-in can refuse any other.

botbuilder and MSAL fetch these with the blocking `requests` library from
inside the event loop, so this stand-in runs its own HTTP server in a thread:
served from the test's loop, the fetch would wait for itself forever.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://api.botframework.com"
BOT_CONNECTOR_RESOURCE = "https://api.botframework.com"
# Azure Database for PostgreSQL's resource: tokens for it are the database password.
POSTGRES_RESOURCE = "https://ossrdbms-aad.database.windows.net"
MANAGED_IDENTITY_PATH = "/msi/token"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class IdentityStandIn:
    def __init__(self, key_id: str = "test-signing-key") -> None:
        self.key_id = key_id
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.identity_header = secrets.token_hex(16)
        self.issued: set[str] = set()
        self.issued_for: dict[str, list[str]] = {}  # resource -> tokens issued for it
        self.postgres_token: str | None = None  # what PostgreSQL tokens are, when set
        self.resources = {BOT_CONNECTOR_RESOURCE, POSTGRES_RESOURCE}  # tokens issued for these
        self.token_requests = 0
        self.entra_key_id = "entra-signing-key"
        self._entra_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    def managed_identity_environment(self) -> dict[str, str]:
        """The variables App Service sets for the managed identity endpoint (this one)."""
        return {
            "IDENTITY_ENDPOINT": f"{self.base_url}{MANAGED_IDENTITY_PATH}",
            "IDENTITY_HEADER": self.identity_header,
        }

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

    def issue_entra_token(
        self, *, tenant: str, audience: str, oid: str, key: Any = None, **claims: Any
    ) -> str:
        """A Teams SSO token as Entra issues it for the tab, valid for an hour; signed with
        `key` instead (a foreign key under Entra's key id) when given. A claim given as None
        is left out."""
        now = int(time.time())
        payload = {
            "iss": f"{self.base_url}/{tenant}/v2.0",
            "aud": audience,
            "tid": tenant,
            "oid": oid,
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "ver": "2.0",
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        signer = key or self._entra_key
        return jwt.encode(payload, signer, algorithm="RS256", headers={"kid": self.entra_key_id})

    def _entra_keys(self) -> dict[str, Any]:
        public = self._entra_key.public_key().public_numbers()
        key = {"kty": "RSA", "use": "sig", "kid": self.entra_key_id, "n": _b64(public.n)}
        return {"keys": [{**key, "e": _b64(public.e)}]}

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

    def _managed_identity_token(
        self, query: dict[str, list[str]], header: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Answer as App Service's token endpoint: the header must match, and the resource be
        the Bot Connector's."""
        self.token_requests += 1
        if header != self.identity_header:
            return 401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong"}
        if query.get("api-version") != ["2019-08-01"]:
            return 400, {"statusCode": 400, "message": "unsupported api-version"}
        resource = (query.get("resource") or [""])[0].removesuffix("/.default").rstrip("/")
        if resource not in self.resources:
            return 500, {"statusCode": 500, "message": f"no token for resource {resource!r}"}
        token = secrets.token_urlsafe(24)
        if resource == POSTGRES_RESOURCE and self.postgres_token is not None:
            token = self.postgres_token
        if resource == BOT_CONNECTOR_RESOURCE:
            self.issued.add(token)
        self.issued_for.setdefault(resource, []).append(token)
        return 200, {
            "access_token": token,
            "expires_on": str(int(time.time()) + 3600),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": (query.get("client_id") or [""])[0],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlsplit(self.path)
                if url.path == MANAGED_IDENTITY_PATH:
                    status, document = stand_in._managed_identity_token(
                        parse_qs(url.query), self.headers.get("X-IDENTITY-HEADER")
                    )
                elif url.path.endswith("/discovery/v2.0/keys"):
                    status, document = 200, stand_in._entra_keys()
                else:
                    document = stand_in._documents().get(self.path)
                    status = 200 if document else 404
                body = json.dumps(document or {"error": "not found"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
