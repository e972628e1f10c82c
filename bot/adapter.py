"""The Bot Framework adapter: inbound JWT checks and outbound credentials.

Authentication is always on, except in the explicit demo mode, where the
adapter accepts unsigned requests (as the Agents Playground sends) and
replies without a token. `build_adapter` logs a loud warning when that is so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import jwt
from aiohttp.web import (
    HTTPBadRequest,
    HTTPUnauthorized,
    HTTPUnsupportedMediaType,
    Request,
    Response,
    WebSocketResponse,
    json_response,
)
from botbuilder.core import Bot, TurnContext
from botbuilder.core.serializer_helper import serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    CertificateServiceClientCredentialsFactory,
)
from msrest.universal_http.requests import ClientRetryPolicy

from bot.config import Settings

log = logging.getLogger(__name__)

DEMO_WARNING = (
    "DEMO MODE: Bot Framework authentication is OFF. Anyone who can reach this port "
    "can talk to the bot as anyone. Never run demo mode where Teams or the internet can reach it."
)


def _cheap_msrest_retry_policy() -> None:
    """botbuilder builds two msrest clients on every turn, and each builds a retry policy
    by testing 999 status codes for membership in a 502-item list: about 5 ms of the event
    loop each time, 10 ms a turn, which was 90% of what an echo bot costs (found profiling
    bench/wizard_step.py). The same codes from a set take microseconds; msrest reads the
    attribute nowhere else."""
    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


def build_adapter(settings: Settings) -> CloudAdapter:
    """A CloudAdapter checking Bot Framework JWTs with the app's credentials."""
    _cheap_msrest_retry_policy()
    if settings.demo:
        log.warning(DEMO_WARNING)
        auth = ConfigurationBotFrameworkAuthentication(
            SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
        )
    else:
        configuration = SimpleNamespace(
            APP_ID=settings.app_id,
            APP_PASSWORD=settings.app_password,
            APP_TYPE=settings.app_type,
            APP_TENANTID=settings.tenant_id,
            **_public_cloud_endpoints(settings),
        )
        factory = None
        if settings.uses_certificate:
            factory = CertificateServiceClientCredentialsFactory(
                settings.app_cert_thumbprint,
                Path(settings.app_cert_key_file).read_text(),
                settings.app_id,
                settings.tenant_id,
            )
        auth = _RefuseBadTokens(configuration, credentials_factory=factory)
    adapter = TeamsAdapter(auth)
    adapter.on_turn_error = _on_turn_error
    return adapter


class TeamsAdapter(CloudAdapter):
    """botbuilder's CloudAdapter, writing an invoke's JSON answer as it is.

    `process` does what CloudAdapter.process does with a POST (read the activity, run
    `process_activity`, which checks the token exactly as before, and answer), except that
    an invoke response whose body is already JSON (a dict: bot.teams.answer) is written
    without msrest's serializer, which walks every element of a reply card. Any other body
    (botbuilder's own models) goes through the serializer as before.
    """

    async def process(
        self, request: Request, bot: Bot, ws_response: WebSocketResponse | None = None
    ) -> Response | None:
        if request.method != "POST" or ws_response is not None:
            return await super().process(request, bot, ws_response)
        if "application/json" not in request.headers.get("Content-Type", ""):
            raise HTTPUnsupportedMediaType()
        activity = Activity().deserialize(await request.json())
        if not activity.type:
            raise HTTPBadRequest()
        try:
            invoke_response = await self.process_activity(
                request.headers.get("Authorization", ""), activity, bot.on_turn
            )
        except PermissionError:
            raise HTTPUnauthorized() from None
        if not invoke_response:
            return Response(status=201)
        body = invoke_response.body
        data = body if isinstance(body, dict) else serializer_helper(body)
        return json_response(data=data, status=invoke_response.status)


class _RefuseBadTokens(ConfigurationBotFrameworkAuthentication):
    """Any failure to authenticate a request is a refusal (401), never a crash (500), and a
    token must say when it expires.

    botbuilder lets some failures escape as other exceptions: PyJWT's
    InvalidSignatureError, a bare Exception for a missing endorsement, or an
    AttributeError when no identity was found. And it checks `exp` (and `nbf`) only when
    the token carries them, so a correctly signed token without `exp` would be good forever.
    """

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        try:
            _require_expiry(auth_header)
            return await super().authenticate_request(activity, auth_header)
        except PermissionError:
            raise
        except Exception as error:
            log.warning("refused a request: %s", type(error).__name__)
            raise PermissionError("the request's token could not be validated") from error


def _require_expiry(auth_header: str) -> None:
    """Refuse a bearer token that carries no numeric `exp` claim.

    The claims are read here without checking the signature; botbuilder then checks the
    signature of these same bytes (and `exp`, `nbf` and the rest against the clock), so
    what passes both is a signed token that expires.
    """
    scheme, _, token = (auth_header or "").partition(" ")
    if scheme != "Bearer" or not token:
        return  # botbuilder refuses a missing token itself
    claims = jwt.decode(token, options={"verify_signature": False})
    expiry = claims.get("exp")
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        raise PermissionError("the request's token has no expiry (exp)")


def _public_cloud_endpoints(settings: Settings) -> dict[str, str]:
    """Bot Framework's public-cloud endpoints, spelt out when one of them is moved.

    botbuilder switches to its "parameterised" authentication as soon as any
    endpoint is given, and then needs all of them.
    """
    if not settings.botframework_openid_url:
        return {}
    login_tenant = settings.tenant_id if settings.app_type == "SingleTenant" else "botframework.com"
    constants = AuthenticationConstants
    return {
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": f"https://login.microsoftonline.com/{login_tenant}",
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": constants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": constants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        "OAUTH_URL": constants.OAUTH_URL,
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": settings.botframework_openid_url,
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": (
            constants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
        ),
        "CALLER_ID": "urn:botframework:azure",
    }


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    """Log the failure by ids only, and tell the user something went wrong."""
    activity = context.activity
    log.exception(
        "turn failed: activity=%s type=%s conversation=%s",
        activity.id,
        activity.type,
        activity.conversation.id if activity.conversation else None,
        exc_info=error,
    )
    if activity.type == "message":
        await context.send_activity(
            "Sorry, something went wrong on my side and nothing was changed. "
            "Please try again in a minute; if it keeps happening, tell the Audit Team."
        )
