"""Microsoft Graph as auditbot's calendar: free/busy, booking, answers, cancelling.

`GraphClient` is what every Graph use shares (msgraph-sdk, the credential, the
retries); `bot.directory` reads Entra ID through it. `GraphCalendar` keeps the
`dialogs.calendar_port.Calendar` contract with the real msgraph-sdk (kiota
request builders over httpx) and azure-identity's async credentials (the
managed identity, a client secret, or a certificate). It uses application
permissions: `getSchedule` needs Calendars.ReadBasic, creating, reading and
deleting events in the organiser's calendar need Calendars.ReadWrite.

Retries are ours, not kiota's RetryHandler: throttling (429, honouring
Retry-After) and transient failures (500, 502, 503, 504, an unreachable
Graph) are retried a bounded number of times with backoff; anything else
fails at once. Either way a failure becomes `CalendarUnavailable` (for the
directory, `DirectoryUnavailable`) with a reason fit for the Audit Team: a
status, Graph's error code and what to check, never the event's subject or
body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.schedule_information import ScheduleInformation
from msgraph.generated.models.working_hours import WorkingHours as GraphWorkingHours
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.events.item.event_item_request_builder import (
    EventItemRequestBuilder,
)
from msgraph_core import GraphClientFactory

from dialogs.calendar_port import BookedEvent, CalendarUnavailable, NewEvent
from workflow.availability import Busy, Schedule, WorkingHours

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
RETRYABLE = frozenset({429, 500, 502, 503, 504})
# Busy for planning: tentative holds are kept free for whoever sent them; unknown is unsafe.
NOT_BUSY = frozenset({"free", "workingElsewhere"})
ISO_DAYS = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 7,
}
# Exchange reports Windows zone names; these are the ones councils' staff are met in.
WINDOWS_ZONES = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Irish Standard Time": "Europe/Dublin",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "India Standard Time": "Asia/Kolkata",
    "Pakistan Standard Time": "Asia/Karachi",
    "China Standard Time": "Asia/Shanghai",
    "Tokyo Standard Time": "Asia/Tokyo",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland",
}
AADSTS = re.compile(r"AADSTS\d+")
T = TypeVar("T")


def iana_zone(name: str | None) -> str | None:
    """The IANA zone for a Windows or IANA zone name as Graph reports it; None if unknown."""
    if not name:
        return None
    candidate = WINDOWS_ZONES.get(name.strip(), name.strip())
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return candidate


class GraphClient:
    """msgraph-sdk's client with auditbot's retries, for the calendar and the directory.

    It owns the credential it is given: `close()` closes the HTTP client and
    the credential. One instance serves many concurrent callers. `sleep` is
    how retries wait (tests pass one that records the waits instead). A call
    that fails for good raises `unavailable` with a reason; `forbidden` says
    which permission a 403 most likely means is missing.
    """

    unavailable: type[Exception] = CalendarUnavailable
    forbidden = "the app lacks a permission it needs"

    def __init__(
        self,
        credential: AsyncTokenCredential,
        *,
        base_url: str = DEFAULT_BASE_URL,
        max_retries: int = 3,
        max_retry_wait_seconds: float = 60.0,
        backoff_seconds: float = 1.0,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_retry_wait_seconds = max_retry_wait_seconds
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._credential = _OneTokenRequestAtATime(credential)
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        self._http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(base_url=self.base_url, timeout=timeout_seconds),
            # Our own loop retries (it knows 500 and 502, and gives a reason); kiota's must not.
            options={RetryHandlerOption.get_key(): RetryHandlerOption(0, 0, False)},
        )
        auth = AzureIdentityAuthenticationProvider(
            self._credential,
            scopes=[f"{parts.scheme}://{host}/.default"],
            allowed_hosts=[host],
        )
        adapter = GraphRequestAdapter(auth, client=self._http)
        adapter.base_url = self.base_url
        self._client = GraphServiceClient(request_adapter=adapter)

    async def close(self) -> None:
        await self._http.aclose()
        await self._credential.close()

    async def _call(
        self,
        what: str,
        send: Callable[[], Awaitable[T]],
        *,
        gone: frozenset[tuple[int, str]] = frozenset(),
    ) -> T:
        """Send, retrying throttling and transient failures; raise `unavailable`.

        An answer whose (status, Graph error code) is in `gone` raises `Gone`
        instead: the caller knows what that means (an event already deleted, a
        user no longer there, a delta link expired).
        """
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return await send()
            except APIError as error:
                status = error.response_status_code or 0
                if (status, _code(error) or "") in gone:
                    raise Gone() from error
                if status not in RETRYABLE:
                    raise self.unavailable(_refusal(what, status, error, self.forbidden)) from None
                retry_after = _retry_after(error.response_headers)
                if retry_after is not None and retry_after > self.max_retry_wait_seconds:
                    raise self.unavailable(
                        f"Graph throttled {what} and asked auditbot to wait {retry_after:.0f} s, "
                        f"longer than AUDITBOT_GRAPH_MAX_RETRY_WAIT_SECONDS"
                    ) from None
                reason = f"Graph answered {status}"
            except ClientAuthenticationError as error:
                entra_status = getattr(getattr(error, "response", None), "status_code", None)
                if entra_status in RETRYABLE:  # azure-core has already retried it
                    raise self.unavailable(
                        f"Microsoft Entra answered {entra_status} when auditbot asked for a "
                        "Graph token; try again later"
                    ) from None
                code = AADSTS.search(str(error))
                raise self.unavailable(
                    "Microsoft Entra refused auditbot's Graph credentials"
                    f"{f' ({code.group()})' if code else ''}: check AUDITBOT_GRAPH_TENANT_ID, "
                    "AUDITBOT_GRAPH_CLIENT_ID and the secret or certificate"
                ) from None
            except (httpx.TransportError, ServiceRequestError) as error:
                retry_after = None
                reason = f"Graph could not be reached ({type(error).__name__})"
            if attempt == attempts:
                raise self.unavailable(f"{reason} to {what} after {attempts} attempts")
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            log.warning(
                "graph %s: %s, attempt %d of %d, retrying in %.2f s",
                what,
                reason,
                attempt,
                attempts,
                wait,
            )
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_retry_wait_seconds)


class GraphCalendar(GraphClient):
    """The Calendar protocol over Microsoft Graph v1.0."""

    name = "graph"
    unavailable = CalendarUnavailable
    forbidden = (
        "the app lacks Calendars.ReadBasic/Calendars.ReadWrite, or the mailbox is outside "
        "its application access policy"
    )

    async def warm_up(self) -> None:
        """Load msgraph's models now, in a worker thread; call once at start-up.

        msgraph imports some 1,200 model modules the first time it reads an
        event. Left to the first booking, that import runs on the event loop
        and stalls every Teams request for seconds.
        """
        await asyncio.to_thread(_load_models)

    async def schedules(
        self, organiser_email: str, emails: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[str, Schedule]:
        """Everyone's free/busy and working hours between start and end, in ONE getSchedule.

        Keyed by the emails as given. Asked in UTC; scheduleItems that are
        free or workingElsewhere are not busy. Someone Graph could not read
        (unknown, or outside the access policy) gets `Schedule.error`, and so
        does anyone missing from Graph's answer.
        """
        if not emails:
            return {}
        body = GetSchedulePostRequestBody(
            schedules=list(emails),
            start_time=_utc(start),
            end_time=_utc(end),
            availability_view_interval=30,
        )
        calendar = self._client.users.by_user_id(organiser_email).calendar
        answer = await self._call("getSchedule", lambda: calendar.get_schedule.post(body))
        found = {
            (info.schedule_id or "").lower(): info
            for info in (answer.value if answer else []) or []
        }
        result: dict[str, Schedule] = {}
        for email in emails:
            info = found.get(email.lower())
            if info is None:
                result[email] = Schedule(email, error="Graph did not return this schedule")
            else:
                result[email] = _schedule(email, info)
        return result

    async def create_event(self, event: NewEvent) -> BookedEvent:
        """Book the meeting in the organiser's calendar; Graph invites the attendees.

        `transactionId` makes a retried create return the first event, so a
        retry after a lost answer books nothing twice.
        """
        request = Event(
            subject=event.subject,
            body=ItemBody(content_type=BodyType.Html, content=event.body_html),
            start=_utc(event.start),
            end=_utc(event.end),
            attendees=[
                Attendee(email_address=EmailAddress(address=email), type=AttendeeType.Required)
                for email in event.attendee_emails
            ],
            is_online_meeting=event.online_meeting,
            online_meeting_provider=(
                OnlineMeetingProviderType.TeamsForBusiness if event.online_meeting else None
            ),
            transaction_id=event.transaction_id,
        )
        events = self._client.users.by_user_id(event.organiser_email).events
        created = await self._call("createEvent", lambda: events.post(request))
        if created is None or not created.id:
            raise CalendarUnavailable("Graph created the event but returned no id")
        join_url = created.online_meeting.join_url if created.online_meeting else None
        return BookedEvent(event_id=created.id, join_url=join_url)

    async def responses(self, organiser_email: str, event_id: str) -> dict[str, str]:
        """Each attendee's answer by lower-case email (none, accepted, declined...)."""
        item = self._client.users.by_user_id(organiser_email).events.by_event_id(event_id)
        config = RequestConfiguration(
            query_parameters=EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
                select=["attendees"]
            )
        )
        found = await self._call("getEvent", lambda: item.get(request_configuration=config))
        answers: dict[str, str] = {}
        for attendee in (found.attendees if found else None) or []:
            address = attendee.email_address.address if attendee.email_address else None
            if not address:
                continue
            status = attendee.status.response if attendee.status else None
            answers[address.lower()] = _text(status) or "none"
        return answers

    async def cancel(self, organiser_email: str, event_id: str) -> None:
        """Delete the organiser's event; Graph sends the attendees a cancellation.

        An event already gone counts as cancelled, so a repeated cancel is harmless.
        """
        item = self._client.users.by_user_id(organiser_email).events.by_event_id(event_id)
        try:
            await self._call(
                "deleteEvent", item.delete, gone=frozenset({(404, "ErrorItemNotFound")})
            )
        except Gone:
            log.info("graph event already gone when cancelling")


def _load_models() -> None:
    for model in (Event, ScheduleInformation):
        model().get_field_deserializers()


class _OneTokenRequestAtATime:
    """Lets one caller fetch a token while the others wait, then find it in the cache.

    azure-identity's credentials cache tokens but do not share a fetch in
    flight: fifty meetings planned at once would ask Entra for fifty tokens.
    """

    def __init__(self, credential: AsyncTokenCredential) -> None:
        self._credential = credential
        self._lock = asyncio.Lock()

    async def get_token(self, *scopes: str, **options: Any) -> AccessToken:
        async with self._lock:
            return await self._credential.get_token(*scopes, **options)

    async def close(self) -> None:
        await self._credential.close()


class Gone(Exception):
    """What was asked for is not there (any more): an event, a user, a delta round."""


def build_calendar(
    settings: Settings, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> GraphCalendar | None:
    """The Graph calendar the settings describe, or None when Graph is not configured.

    Settings are checked at load time (bot.config), so here a half
    configuration cannot arrive. The caller must `await calendar.close()`.
    """
    if not settings.graph_configured:
        return None
    return GraphCalendar(build_credential(settings), **client_options(settings), sleep=sleep)


def client_options(settings: Settings) -> dict[str, Any]:
    """GraphClient's keyword arguments from the AUDITBOT_GRAPH_* settings."""
    return {
        "base_url": settings.graph_base_url,
        "max_retries": settings.graph_max_retries,
        "max_retry_wait_seconds": settings.graph_max_retry_wait_seconds,
        "backoff_seconds": settings.graph_retry_backoff_seconds,
        "timeout_seconds": settings.graph_timeout_seconds,
    }


def build_credential(settings: Settings) -> AsyncTokenCredential:
    """azure-identity's credential: the managed identity if configured, else the app's
    certificate, else its secret."""
    from azure.identity.aio import (
        CertificateCredential,
        ClientSecretCredential,
        ManagedIdentityCredential,
    )

    if settings.graph_managed_identity:
        # A user-assigned identity is named by its client id; none means the system one.
        client_id = settings.graph_client_id or os.environ.get("AZURE_CLIENT_ID") or None
        return ManagedIdentityCredential(client_id=client_id)

    options: dict[str, object] = {"authority": settings.graph_authority_host}
    if settings.graph_ca_file:
        options["connection_verify"] = settings.graph_ca_file
    if settings.graph_certificate_path:
        return CertificateCredential(
            settings.graph_tenant_id,
            settings.graph_client_id,
            certificate_path=settings.graph_certificate_path,
            password=settings.graph_certificate_password or None,
            **options,
        )
    return ClientSecretCredential(
        settings.graph_tenant_id, settings.graph_client_id, settings.graph_client_secret, **options
    )


def _schedule(email: str, info: ScheduleInformation) -> Schedule:
    if info.error is not None:
        code = info.error.response_code or "error"
        return Schedule(email, error=f"Graph could not read this calendar ({code})")
    busy = []
    for item in info.schedule_items or []:
        status = _text(item.status) or "unknown"
        if status in NOT_BUSY or item.start is None or item.end is None:
            continue
        busy.append(Busy(_instant(item.start), _instant(item.end), status))
    return Schedule(email, busy=tuple(busy), working_hours=_working_hours(info.working_hours))


def _working_hours(hours: GraphWorkingHours | None) -> WorkingHours | None:
    if hours is None or hours.start_time is None or hours.end_time is None:
        return None
    zone_name = hours.time_zone.name if hours.time_zone else None
    zone = iana_zone(zone_name)
    if zone is None:
        log.warning("graph working hours in unknown time zone %r; using the programme's", zone_name)
        return None
    days = frozenset(ISO_DAYS[d] for d in (_text(day) for day in hours.days_of_week or []) if d)
    return WorkingHours(
        days=days, start=_time(hours.start_time), end=_time(hours.end_time), time_zone=zone
    )


def _time(value: time) -> time:
    return value.replace(tzinfo=None)


def _text(value: object) -> str | None:
    """An enum's wire value (kiota enums are str Enums), or the string itself."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _utc(instant: datetime) -> DateTimeTimeZone:
    if instant.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    wall = instant.astimezone(UTC).replace(tzinfo=None)
    return DateTimeTimeZone(date_time=wall.isoformat(timespec="seconds"), time_zone="UTC")


def _instant(value: DateTimeTimeZone) -> datetime:
    """Graph's dateTimeTimeZone (seven fractional digits, zone by name) as aware UTC."""
    head, _, fraction = (value.date_time or "").partition(".")
    wall = datetime.fromisoformat(head).replace(tzinfo=None)
    if fraction:
        wall = wall.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    zone = iana_zone(value.time_zone or "UTC")
    if zone is None:
        log.warning("graph time in unknown time zone %r; read as UTC", value.time_zone)
        zone = "UTC"
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _code(error: APIError) -> str | None:
    if isinstance(error, ODataError) and error.error is not None:
        return error.error.code
    return None


def _refusal(what: str, status: int, error: APIError, forbidden: str) -> str:
    """Why Graph said no, and what to check; Graph's code, never its message (it can echo input)."""
    code = f" {_code(error)}" if _code(error) else ""
    hint = {
        401: "check AUDITBOT_GRAPH_TENANT_ID and that the app is consented in that tenant",
        403: forbidden,
        404: "no such mailbox, event or user",
    }.get(status, "the request was refused")
    return f"Graph refused {what} ({status}{code}): {hint}"


__all__ = [
    "DEFAULT_BASE_URL",
    "Gone",
    "GraphCalendar",
    "GraphClient",
    "build_calendar",
    "build_credential",
    "client_options",
    "iana_zone",
]
