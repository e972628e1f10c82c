"""A local stand-in for Microsoft Graph v1.0 calendars and the Entra token endpoint.

Two servers on 127.0.0.1: Graph itself over plain HTTP (kiota sends tokens
over http only to localhost, which 127.0.0.1 is), and the Microsoft Entra
token endpoint over TLS with a throwaway self-signed certificate, because
azure-identity refuses an authority that is not https. Point a credential at
`authority` and tell it to trust `ca_file`.

Graph routes answer in Graph's shapes (Graph reference, v1.0):

- `POST /v1.0/users/{organiser}/calendar/getSchedule`: scheduleInformation
  per schedule (availabilityView, scheduleItems in UTC, workingHours), or an
  `error` for a mailbox it does not know or may not read;
- `POST /v1.0/users/{organiser}/events`: honours `transactionId` (the same id
  gives back the same event), adds a Teams join link for online meetings;
- `GET` and `DELETE /v1.0/users/{organiser}/events/{id}`;
- `GET /v1.0/users/{id}/mailboxSettings`;
- Entra ID's users and groups, their delta queries and `GET /users/{id}`:
  `graph.directory` (tests/standins/directory.py) holds them and its controls.

`settings()` gives the `AUDITBOT_GRAPH_*` values (as `load_settings` keywords)
that point auditbot here. Every Graph call needs a bearer token the token endpoint issued for the
stand-in's tenant (401 otherwise). Events booked here show up in later
getSchedule answers: busy for the organiser, tentative for attendees until
they answer, gone for those who decline. Test controls:

- `add_person(email, time_zone=..., days=..., start=..., end=...)` and
  `add_busy(email, start, end, status=...)` seed mailboxes;
- `throttle_next(n, retry_after=...)` answers the next n Graph calls 429 with
  Retry-After; `fail_next(503, 503)` answers them with those statuses;
- `lose_next_answers(504)` does the next call but answers 504, as if the
  answer were lost (a retried create must then find the first event);
- `fail_token_next(503, ...)` makes the token endpoint fail;
- `deny(email)` puts a mailbox outside the app's access policy;
- `set_response(event_id, email, "declined")` records an attendee's answer;
- `calls` counts answered requests per route ("getSchedule", "createEvent",
  "getEvent", "deleteEvent", "mailboxSettings", "token"), failures included;
  `events` holds the live events, `requests` every Graph request body;
- `trust(check)` also accepts bearer tokens `check(token)` says were issued for
  Graph elsewhere (the managed identity endpoint of the identity stand-in).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import json
import secrets
import ssl
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.standins.directory import Directory

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "0c9f7a52-61a3-4e4e-8a9b-7d0f6b2a1c33"
CLIENT_SECRET = "stand-in-secret-" + "x" * 16
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The Windows names Exchange reports most in the UK, and the ones the tests use.
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Eastern Standard Time": "America/New_York",
    "Pacific Standard Time": "America/Los_Angeles",
    "India Standard Time": "Asia/Kolkata",
}
# availabilityView digits, and which status wins when several overlap a slot.
VIEW_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
PRECEDENCE = ("oof", "busy", "tentative", "workingElsewhere")
BODY = web.RequestKey("body", object)
GRAPH_ROUTES = (
    "getSchedule",
    "createEvent",
    "getEvent",
    "deleteEvent",
    "mailboxSettings",
    "usersDelta",
    "groupsDelta",
    "getUser",
)


@dataclass
class Person:
    email: str
    time_zone: str = "GMT Standard Time"  # as Exchange reports it: Windows or IANA name
    days: tuple[str, ...] = WEEKDAYS[:5]
    start: time = time(9, 0)
    end: time = time(17, 0)


@dataclass
class BusyItem:
    start: datetime
    end: datetime
    status: str = "busy"


@dataclass
class Token:
    tenant_id: str
    client_id: str
    expires: datetime


@dataclass
class GraphStandIn:
    """Run with `async with GraphStandIn() as graph:`; `graph.base_url` is Graph's v1.0 root."""

    tenant_id: str = TENANT_ID
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    # Other tenants the app is consented in: they get tokens Graph here refuses.
    other_tenants: set[str] = field(default_factory=set)
    people: dict[str, Person] = field(default_factory=dict)
    busy: dict[str, list[BusyItem]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)
    tokens: dict[str, Token] = field(default_factory=dict)
    certificates: list[x509.Certificate] = field(default_factory=list)
    _failures: list[tuple[int, int | None]] = field(default_factory=list)
    _token_failures: list[int] = field(default_factory=list)
    _lost_answers: list[int] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    trusted: list[Callable[[str], bool]] = field(default_factory=list)
    directory: Directory = field(init=False)
    _graph: TestServer | None = None
    _login: TestServer | None = None
    _tmp: tempfile.TemporaryDirectory | None = None

    def __post_init__(self) -> None:
        self.directory = Directory(base_url=lambda: self.base_url, error=_graph_error)

    # -- running ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Graph's root as msgraph-sdk expects it, e.g. http://127.0.0.1:PORT/v1.0."""
        assert self._graph is not None
        return str(self._graph.make_url("/v1.0"))

    @property
    def authority(self) -> str:
        """The token endpoint's host, https://127.0.0.1:PORT (azure-identity's `authority`)."""
        assert self._login is not None
        return str(self._login.make_url("")).rstrip("/")

    @property
    def ca_file(self) -> str:
        """PEM file of the login server's self-signed certificate, for `connection_verify`."""
        assert self._tmp is not None
        return str(Path(self._tmp.name) / "login-ca.pem")

    async def __aenter__(self) -> GraphStandIn:
        self._tmp = tempfile.TemporaryDirectory(prefix="graph-standin-")
        context = self._tls_context()
        graph = web.Application(middlewares=[self._authorised])
        for name in ("delta()", "delta", "microsoft.graph.delta()"):
            graph.router.add_get(f"/v1.0/users/{name}", self.directory.users_delta)
            graph.router.add_get(f"/v1.0/groups/{name}", self.directory.groups_delta)
        users = "/v1.0/users/{user}"
        graph.router.add_get(users, self.directory.get_user)
        graph.router.add_post(users + "/calendar/getSchedule", self._get_schedule)
        graph.router.add_post(users + "/events", self._create_event)
        graph.router.add_get(users + "/events/{event_id}", self._get_event)
        graph.router.add_delete(users + "/events/{event_id}", self._delete_event)
        graph.router.add_get(users + "/mailboxSettings", self._mailbox_settings)
        login = web.Application()
        login.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._graph = TestServer(graph, host="127.0.0.1")
        self._login = TestServer(login, host="127.0.0.1")
        await self._graph.start_server()
        await self._login.start_server(ssl=context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for server in (self._graph, self._login):
            if server is not None:
                await server.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _tls_context(self) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        folder = Path(self.ca_file).parent
        cert_file, key_file = folder / "login-ca.pem", folder / "login-key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context

    # -- test controls ------------------------------------------------------

    def add_person(
        self,
        email: str,
        *,
        time_zone: str = "GMT Standard Time",
        days: tuple[str, ...] = WEEKDAYS[:5],
        start: time = time(9, 0),
        end: time = time(17, 0),
    ) -> Person:
        person = Person(email.lower(), time_zone, days, start, end)
        self.people[person.email] = person
        return person

    def add_busy(self, email: str, start: datetime, end: datetime, status: str = "busy") -> None:
        """Block time in someone's calendar (timezone-aware instants)."""
        assert status in VIEW_DIGIT, status
        self.busy.setdefault(email.lower(), []).append(BusyItem(start, end, status))

    def deny(self, email: str) -> None:
        """Put a mailbox outside the application access policy: Graph refuses to read it."""
        self.denied.add(email.lower())

    def throttle_next(self, count: int, retry_after: int = 1) -> None:
        """Answer the next `count` Graph calls 429 with `Retry-After: retry_after`."""
        self._failures.extend([(429, retry_after)] * count)

    def fail_next(self, *statuses: int) -> None:
        """Answer the next Graph calls with these statuses (e.g. 503, 503), one each."""
        self._failures.extend((status, None) for status in statuses)

    def lose_next_answers(self, *statuses: int) -> None:
        """Do the next Graph calls, then answer them with these statuses (e.g. 504) as if
        the answer were lost on the way back: the event exists, the caller does not know."""
        self._lost_answers.extend(statuses)

    def settings(self) -> dict[str, str]:
        """`load_settings(**graph.settings())` values pointing auditbot at this stand-in."""
        return {
            "graph_tenant_id": self.tenant_id,
            "graph_client_id": self.client_id,
            "graph_client_secret": self.client_secret,
            "graph_base_url": self.base_url,
            "graph_authority_host": self.authority,
            "graph_ca_file": self.ca_file,
        }

    def fail_token_next(self, *statuses: int) -> None:
        """Answer the next token requests with these statuses (Entra having a bad day)."""
        self._token_failures.extend(statuses)

    def set_response(self, event_id: str, email: str, response: str) -> None:
        """An attendee answers: accepted, tentativelyAccepted, declined..."""
        for attendee in self.events[event_id]["attendees"]:
            if attendee["emailAddress"]["address"].lower() == email.lower():
                attendee["status"] = {"response": response, "time": _stamp(datetime.now(UTC))}
                return
        raise KeyError(email)

    def trust(self, check: Callable[[str], bool]) -> None:
        """Accept bearer tokens `check` recognises, as Graph accepts a managed identity's."""
        self.trusted.append(check)

    def register_certificate(self, pem: bytes) -> None:
        """Accept client assertions signed with this certificate's key (CertificateCredential)."""
        self.certificates.append(x509.load_pem_x509_certificate(pem))

    @property
    def graph_calls(self) -> int:
        """Every Graph call answered, tokens aside."""
        return sum(self.calls[route] for route in GRAPH_ROUTES)

    # -- the token endpoint -------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        self.calls["token"] += 1
        if self._token_failures:
            status = self._token_failures.pop(0)
            answer = _aad_error(status, "temporarily_unavailable", "AADSTS50196: Try again.")
            # azure-core retries these itself; a millisecond wait keeps the tests quick.
            answer.headers["retry-after-ms"] = "1"
            return answer
        tenant = request.match_info["tenant"]
        form = await request.post()
        if tenant != self.tenant_id and tenant not in self.other_tenants:
            return _aad_error(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != (
            self.client_id
        ):
            return _aad_error(
                400, "unauthorized_client", "AADSTS700016: Application not found in the directory."
            )
        if not str(form.get("scope", "")).endswith("/.default"):
            return _aad_error(400, "invalid_scope", "AADSTS1002012: scope must end in /.default")
        if not self._client_proved(form, str(request.url)):
            return _aad_error(
                401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
            )
        token = secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + timedelta(hours=1)
        self.tokens[token] = Token(tenant, self.client_id, expires)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }
        )

    def _client_proved(self, form: Any, token_url: str) -> bool:
        if "client_secret" in form:
            return secrets.compare_digest(str(form["client_secret"]), self.client_secret)
        assertion = form.get("client_assertion")
        if not assertion:
            return False
        for cert in self.certificates:
            try:
                claims = jwt.decode(
                    str(assertion),
                    cert.public_key(),  # type: ignore[arg-type]
                    algorithms=["RS256", "PS256", "ES256"],
                    audience=token_url,
                )
            except jwt.PyJWTError:
                continue
            if claims.get("iss") == claims.get("sub") == self.client_id:
                return True
        return False

    # -- Graph --------------------------------------------------------------

    @web.middleware
    async def _authorised(self, request: web.Request, handler: Any) -> web.StreamResponse:
        route = _route_name(request)
        self.calls[route] += 1
        header = request.headers.get("Authorization", "")
        bearer = header.removeprefix("Bearer ").strip()
        token = self.tokens.get(bearer) if header else None
        if token is None and header.startswith("Bearer ") and any(t(bearer) for t in self.trusted):
            expires = datetime.now(UTC) + timedelta(hours=1)
            token = Token(self.tenant_id, "managed-identity", expires)
        if not header.startswith("Bearer ") or token is None:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if token.tenant_id != self.tenant_id or token.expires < datetime.now(UTC):
            return _graph_error(
                401, "InvalidAuthenticationToken", "Access token validation failure."
            )
        if self._failures:
            status, retry_after = self._failures.pop(0)
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            code = "TooManyRequests" if status == 429 else "ServiceUnavailable"
            return _graph_error(status, code, "Please retry the request later.", headers)
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return _graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        self.requests.append((route, body))
        # Graph reads property names case-insensitively; msgraph-sdk sends action
        # parameters such as getSchedule's in PascalCase.
        request[BODY] = _camel(body)
        answer = await handler(request)
        if self._lost_answers:
            status = self._lost_answers.pop(0)
            return _graph_error(status, "GatewayTimeout", "The operation timed out.")
        return answer

    def _mailbox(self, user: str) -> Person | web.Response:
        email = user.lower()
        if email in self.denied:
            return _graph_error(
                403, "ErrorAccessDenied", "Access to OData is disabled: blocked by tenant policy."
            )
        person = self.people.get(email)
        if person is None:
            return _graph_error(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        return person

    async def _get_schedule(self, request: web.Request) -> web.Response:
        organiser = self._mailbox(request.match_info["user"])
        if isinstance(organiser, web.Response):
            return organiser
        body = request[BODY] or {}
        try:
            start = _instant(body["startTime"])
            end = _instant(body["endTime"])
            interval = int(body.get("availabilityViewInterval", 30))
            schedules = [str(s) for s in body["schedules"]]
        except (KeyError, TypeError, ValueError) as error:
            return _graph_error(400, "ErrorInvalidRequest", f"Invalid request: {error}")
        if not 5 <= interval <= 1440 or end <= start or not schedules:
            return _graph_error(400, "ErrorInvalidParameter", "Invalid time window or interval.")
        if end - start > timedelta(days=62):
            return _graph_error(
                400, "ErrorInvalidTimeInterval", "The time window may be at most 62 days."
            )
        value = [self._schedule(email, start, end, interval) for email in schedules]
        return web.json_response(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
                "#Collection(microsoft.graph.scheduleInformation)",
                "value": value,
            }
        )

    def _schedule(
        self, email: str, start: datetime, end: datetime, interval: int
    ) -> dict[str, Any]:
        key = email.lower()
        if key in self.denied or key not in self.people:
            code = "ErrorAccessDenied" if key in self.denied else "ErrorMailRecipientNotFound"
            return {
                "scheduleId": email,
                "availabilityView": "",
                "scheduleItems": [],
                "error": {"message": f"Cannot read the schedule of {email}.", "responseCode": code},
            }
        items = [i for i in self._items(key) if i.start < end and i.end > start]
        person = self.people[key]
        return {
            "scheduleId": email,
            "availabilityView": _view(items, start, end, interval),
            "scheduleItems": [
                {
                    "isPrivate": False,
                    "status": item.status,
                    "start": {"dateTime": _wall(item.start), "timeZone": "UTC"},
                    "end": {"dateTime": _wall(item.end), "timeZone": "UTC"},
                }
                for item in sorted(items, key=lambda i: i.start)
            ],
            "workingHours": _working_hours(person),
        }

    def _items(self, email: str) -> list[BusyItem]:
        """Seeded busy time plus what events booked here put in this calendar."""
        items = list(self.busy.get(email, []))
        for event in self.events.values():
            start, end = _instant(event["start"]), _instant(event["end"])
            if event["organizer"]["emailAddress"]["address"].lower() == email:
                items.append(BusyItem(start, end, "busy"))
                continue
            for attendee in event["attendees"]:
                if attendee["emailAddress"]["address"].lower() != email:
                    continue
                answer = attendee["status"]["response"]
                if answer in ("accepted", "organizer"):
                    items.append(BusyItem(start, end, "busy"))
                elif answer != "declined":
                    items.append(BusyItem(start, end, "tentative"))
        return items

    async def _create_event(self, request: web.Request) -> web.Response:
        organiser_email = request.match_info["user"].lower()
        organiser = self._mailbox(organiser_email)
        if isinstance(organiser, web.Response):
            return organiser
        body = request[BODY] or {}
        transaction = body.get("transactionId")
        if transaction:
            for event in self.events.values():
                if event["transactionId"] == transaction and (
                    event["organizer"]["emailAddress"]["address"].lower() == organiser_email
                ):
                    return web.json_response(event, status=201)
        try:
            _instant(body["start"])
            _instant(body["end"])
            attendees = [
                {
                    "type": a.get("type", "required"),
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {
                        "name": a["emailAddress"].get("name", a["emailAddress"]["address"]),
                        "address": a["emailAddress"]["address"],
                    },
                }
                for a in body.get("attendees", [])
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            return _graph_error(400, "ErrorInvalidRequest", f"Invalid event: {error}")
        event_id = f"AAMkAG{next(self._ids):06d}{uuid.uuid4().hex[:12]}="
        online = bool(body.get("isOnlineMeeting"))
        teams = online and body.get("onlineMeetingProvider") == "teamsForBusiness"
        now = _stamp(datetime.now(UTC))
        event = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{organiser_email}')/events/$entity",
            "id": event_id,
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "iCalUId": "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper(),
            "transactionId": transaction,
            "subject": body.get("subject", ""),
            "body": body.get("body", {"contentType": "text", "content": ""}),
            "start": body["start"],
            "end": body["end"],
            "isOnlineMeeting": online,
            "onlineMeetingProvider": body.get("onlineMeetingProvider", "unknown"),
            "onlineMeeting": (
                {
                    "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{uuid.uuid4().hex}%40thread.v2/0"
                }
                if teams
                else None
            ),
            "isCancelled": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "organizer": {"emailAddress": {"name": organiser_email, "address": organiser_email}},
            "attendees": attendees,
            "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
        }
        self.events[event_id] = event
        return web.json_response(event, status=201)

    def _event(self, request: web.Request) -> dict[str, Any] | web.Response:
        organiser = self._mailbox(request.match_info["user"])
        if isinstance(organiser, web.Response):
            return organiser
        event = self.events.get(request.match_info["event_id"])
        if event is None or (
            event["organizer"]["emailAddress"]["address"].lower() != organiser.email
        ):
            return _graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return event

    async def _get_event(self, request: web.Request) -> web.Response:
        event = self._event(request)
        if isinstance(event, web.Response):
            return event
        return web.json_response(event)

    async def _delete_event(self, request: web.Request) -> web.Response:
        event = self._event(request)
        if isinstance(event, web.Response):
            return event
        del self.events[event["id"]]
        return web.Response(status=204)

    async def _mailbox_settings(self, request: web.Request) -> web.Response:
        person = self._mailbox(request.match_info["user"])
        if isinstance(person, web.Response):
            return person
        return web.json_response(
            {
                "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{person.email}')/mailboxSettings",
                "timeZone": person.time_zone,
                "language": {"locale": "en-GB", "displayName": "English (United Kingdom)"},
                "dateFormat": "dd/MM/yyyy",
                "timeFormat": "HH:mm",
                "workingHours": _working_hours(person),
            }
        )


def _route_name(request: web.Request) -> str:
    path, method = request.path, request.method
    if "/delta" in path or path.endswith(".delta()"):
        return "usersDelta" if path.startswith("/v1.0/users/") else "groupsDelta"
    if path.count("/") == 3 and path.startswith("/v1.0/users/"):
        return "getUser"
    if path.endswith("/getSchedule"):
        return "getSchedule"
    if path.endswith("/mailboxSettings"):
        return "mailboxSettings"
    if path.endswith("/events"):
        return "createEvent"
    return {"GET": "getEvent", "DELETE": "deleteEvent"}.get(method, f"{method} {path}")


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _working_hours(person: Person) -> dict[str, Any]:
    return {
        "daysOfWeek": list(person.days),
        "startTime": person.start.strftime("%H:%M:%S.0000000"),
        "endTime": person.end.strftime("%H:%M:%S.0000000"),
        "timeZone": {"name": person.time_zone},
    }


def _zone(name: str) -> dt.tzinfo:
    iana = WINDOWS_ZONES.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _instant(value: dict[str, Any]) -> datetime:
    """A dateTimeTimeZone as an aware UTC instant."""
    wall = str(value["dateTime"])
    head, _, fraction = wall.partition(".")
    local = datetime.fromisoformat(head).replace(tzinfo=None)
    if fraction:
        local = local.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return local.replace(tzinfo=_zone(str(value.get("timeZone") or "UTC"))).astimezone(UTC)


def _wall(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _view(items: list[BusyItem], start: datetime, end: datetime, interval: int) -> str:
    step = timedelta(minutes=interval)
    digits = []
    slot = start
    while slot < end:
        statuses = {i.status for i in items if i.start < slot + step and i.end > slot}
        winner = next((s for s in PRECEDENCE if s in statuses), "free")
        digits.append(VIEW_DIGIT[winner])
        slot += step
    return "".join(digits)


def _graph_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    request_id = str(uuid.uuid4())
    return web.json_response(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": _stamp(datetime.now(UTC)),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        },
        status=status,
        headers=headers,
    )


def _aad_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description[6:].split(":")[0])],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
    )
