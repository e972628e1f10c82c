"""Who is asking, for the Audit Team's workspace (the Teams tab and its JSON API).

In Teams the tab gets a token from the Teams JavaScript library (single sign-on) and sends
it as `Authorization: Bearer ...`. Before any data is read, `TabAuth.person` checks it
against Microsoft Entra's signing keys: RS256 only, signed by a key the tenant publishes,
`aud` the app's (`api://<domain>/<app id>` or the bare app id), issued by the council's
tenant (`iss` and `tid`), not expired, and naming a person (`oid`) auditbot knows and who
is active. Anything else is `Unauthorised` (a 401, no data).

In demo mode only (loopback, authentication off: `bot/config.py` enforces it) a visible
"demo sign-in as ..." picker stands in for single sign-on: the chosen person's UPN rides in
a cookie, so the tab can be used in a browser and in the Agents Playground.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import Staff

log = logging.getLogger(__name__)

DEMO_COOKIE = "auditbot_demo_upn"
ENTRA = "https://login.microsoftonline.com"


class Unauthorised(Exception):
    """No data for this request; the message says why (logged, not shown in detail)."""


@dataclass(frozen=True)
class TabAuthSettings:
    tenant_id: str
    audiences: tuple[str, ...]  # e.g. ("api://auditbot.council.gov.uk/<app id>", "<app id>")
    keys_url: str  # the tenant's JWKS
    issuers: tuple[str, ...]
    demo: bool = False


def tab_auth_settings(settings: Any) -> TabAuthSettings:
    """From the service's settings: the tenant, the app id and the tab's domain."""
    tenant, app_id = settings.tenant_id, settings.app_id
    authority = (settings.tab_openid_authority or ENTRA).rstrip("/")
    audiences = [a for a in (settings.tab_audience, app_id) if a]
    if settings.tab_domain and app_id:
        audiences.append(f"api://{settings.tab_domain}/{app_id}")
    return TabAuthSettings(
        tenant_id=tenant,
        audiences=tuple(dict.fromkeys(audiences)),
        keys_url=f"{authority}/{tenant}/discovery/v2.0/keys",
        issuers=(f"{authority}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"),
        demo=settings.demo,
    )


class TabAuth:
    def __init__(self, settings: TabAuthSettings) -> None:
        self._settings = settings
        self._keys = jwt.PyJWKClient(settings.keys_url, cache_keys=True, lifespan=3600)

    @property
    def demo(self) -> bool:
        return self._settings.demo

    async def person(self, session: AsyncSession, request: web.Request) -> Staff:
        """The active person the request is from, or Unauthorised."""
        if self._settings.demo:
            upn = request.cookies.get(DEMO_COOKIE, "")
            staff = await repo.get_staff_by_upn(session, upn) if upn else None
            if staff is None or not staff.active:
                raise Unauthorised("demo: nobody signed in")
            return staff
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorised("no bearer token")
        claims = await self._claims(header.removeprefix("Bearer ").strip())
        staff = await repo.get_staff_by_aad_id(session, str(claims.get("oid", "")))
        if staff is None or not staff.active:
            raise Unauthorised("the token names nobody auditbot knows, or someone who has left")
        return staff

    async def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthorised(f"not a token: {error}") from None
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise Unauthorised("not signed with RS256 by a published key")
        try:
            # PyJWKClient fetches with urllib: off the event loop.
            key = await asyncio.to_thread(self._keys.get_signing_key, header["kid"])
        except jwt.PyJWKClientError as error:
            raise Unauthorised(f"signing key not published by the tenant: {error}") from None
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=list(self._settings.audiences),
                issuer=list(self._settings.issuers),
                options={"require": ["exp", "iat", "aud", "iss", "tid", "oid"]},
                leeway=60,
            )
        except jwt.PyJWTError as error:
            raise Unauthorised(f"token refused: {error}") from None
        if claims.get("tid") != self._settings.tenant_id:
            raise Unauthorised("token from another tenant")
        return claims
