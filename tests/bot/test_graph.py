"""GraphCalendar with the real msgraph-sdk and azure-identity, against the local Graph stand-in.

Nothing here is mocked: tokens come from the stand-in's TLS token endpoint,
requests go through kiota's middleware over real HTTP on 127.0.0.1. Retry
waits are recorded instead of slept, except in one test that waits for real.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bot.config import ConfigError, Settings, load_settings
from bot.graph import GraphCalendar, build_calendar, iana_zone
from dialogs.calendar_port import CalendarUnavailable, NewEvent
from tests.harness import DEPLOYED
from tests.standins.graph import CLIENT_ID, CLIENT_SECRET, TENANT_ID, GraphStandIn

ORGANISER = "auditor@council.gov.uk"
MANAGER = "manager@council.gov.uk"
PRACTITIONER = "practitioner@council.gov.uk"
ABROAD = "consultant@council.gov.uk"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


class RecordedWaits(list[float]):
    """A sleep that remembers how long it was asked to wait, and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def graph_settings(graph: GraphStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **DEPLOYED,
        **graph.settings(),
        "graph_retry_backoff_seconds": 0.5,
        "graph_max_retry_wait_seconds": 10,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
async def graph() -> AsyncIterator[GraphStandIn]:
    async with GraphStandIn() as stand_in:
        for email in (ORGANISER, MANAGER, PRACTITIONER):
            stand_in.add_person(email)
        stand_in.add_person(
            ABROAD, time_zone="Eastern Standard Time", start=time(8, 30), end=time(16, 30)
        )
        yield stand_in


@pytest.fixture
def waits() -> RecordedWaits:
    return RecordedWaits()


@pytest.fixture
async def calendar(graph: GraphStandIn, waits: RecordedWaits) -> AsyncIterator[GraphCalendar]:
    built = build_calendar(graph_settings(graph), sleep=waits)
    assert built is not None
    yield built
    await built.close()


def meeting(transaction_id: str = "uopp-audit-17-1", **changes: Any) -> NewEvent:
    start = MONDAY.replace(hour=10)
    values: dict[str, Any] = {
        "organiser_email": ORGANISER,
        "attendee_emails": (MANAGER, PRACTITIONER),
        "subject": "UoPP meeting: case C-1042",
        "body_html": "<p>Understanding our Practice Progression meeting for case C-1042.</p>",
        "start": start,
        "end": start + timedelta(hours=1),
        "transaction_id": transaction_id,
    }
    values.update(changes)
    return NewEvent(**values)


# -- free/busy -------------------------------------------------------------------


async def test_schedules_for_three_people_come_from_one_getschedule_call(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    graph.add_busy(MANAGER, MONDAY.replace(hour=10), MONDAY.replace(hour=11))
    graph.add_busy(MANAGER, MONDAY.replace(hour=13), MONDAY.replace(hour=14), "free")
    graph.add_busy(PRACTITIONER, MONDAY.replace(hour=9), MONDAY.replace(hour=17), "oof")
    graph.add_busy(ABROAD, MONDAY.replace(hour=15), MONDAY.replace(hour=16), "tentative")
    graph.add_busy(ABROAD, MONDAY.replace(hour=12), MONDAY.replace(hour=13), "workingElsewhere")

    found = await calendar.schedules(
        ORGANISER, (MANAGER, PRACTITIONER, ABROAD), MONDAY, MONDAY + timedelta(days=5)
    )

    assert graph.calls["getSchedule"] == 1
    assert set(found) == {MANAGER, PRACTITIONER, ABROAD}
    manager, practitioner, abroad = found[MANAGER], found[PRACTITIONER], found[ABROAD]
    assert [(b.start.hour, b.end.hour, b.status) for b in manager.busy] == [(10, 11, "busy")]
    assert [(b.start.hour, b.end.hour, b.status) for b in practitioner.busy] == [(9, 17, "oof")]
    assert [(b.start.hour, b.status) for b in abroad.busy] == [(15, "tentative")]
    assert all(b.start.tzinfo is not None for s in found.values() for b in s.busy)
    assert manager.working_hours is not None
    assert manager.working_hours.time_zone == "Europe/London"
    assert manager.working_hours.days == frozenset({1, 2, 3, 4, 5})
    assert (manager.working_hours.start, manager.working_hours.end) == (time(9), time(17))
    assert abroad.working_hours is not None
    assert abroad.working_hours.time_zone == "America/New_York"
    assert (abroad.working_hours.start, abroad.working_hours.end) == (time(8, 30), time(16, 30))
    assert all(s.error is None for s in found.values())


async def test_schedules_are_asked_for_in_utc_whatever_zone_the_window_was_given_in(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    from zoneinfo import ZoneInfo

    london = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Europe/London"))
    await calendar.schedules(ORGANISER, (MANAGER,), london, london + timedelta(hours=8))

    (_, body), *_ = graph.requests
    assert body is not None
    start = {k.lower(): v for k, v in body.items()}["starttime"]
    assert start == {"dateTime": "2026-06-01T08:00:00", "timeZone": "UTC"}


async def test_a_mailbox_graph_does_not_know_gets_an_error_and_the_others_still_come_back(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    found = await calendar.schedules(
        ORGANISER, (MANAGER, "left.last.year@council.gov.uk"), MONDAY, MONDAY + timedelta(days=1)
    )

    assert found["left.last.year@council.gov.uk"].error is not None
    assert "ErrorMailRecipientNotFound" in found["left.last.year@council.gov.uk"].error
    assert found[MANAGER].error is None and found[MANAGER].working_hours is not None


async def test_a_mailbox_outside_the_access_policy_gets_an_error(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    graph.deny(PRACTITIONER)

    found = await calendar.schedules(
        ORGANISER, (MANAGER, PRACTITIONER), MONDAY, MONDAY + timedelta(days=1)
    )

    assert (
        found[PRACTITIONER].error is not None and "ErrorAccessDenied" in found[PRACTITIONER].error
    )
    assert found[MANAGER].error is None


async def test_working_hours_in_a_zone_we_cannot_map_fall_back_to_the_programmes(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    graph.add_person("island@council.gov.uk", time_zone="Nowhere Standard Time")

    found = await calendar.schedules(
        ORGANISER, ("island@council.gov.uk",), MONDAY, MONDAY + timedelta(days=1)
    )

    assert found["island@council.gov.uk"].working_hours is None
    assert found["island@council.gov.uk"].error is None


def test_windows_and_iana_zone_names_map_to_iana() -> None:
    assert iana_zone("GMT Standard Time") == "Europe/London"
    assert iana_zone("W. Europe Standard Time") == "Europe/Berlin"
    assert iana_zone("Eastern Standard Time") == "America/New_York"
    assert iana_zone("Pacific Standard Time") == "America/Los_Angeles"
    assert iana_zone("India Standard Time") == "Asia/Kolkata"
    assert iana_zone("UTC") == "UTC"
    assert iana_zone("Europe/Dublin") == "Europe/Dublin"
    assert iana_zone("Nowhere Standard Time") is None
    assert iana_zone("") is None


# -- events ----------------------------------------------------------------------


async def test_creating_a_meeting_books_a_teams_meeting_and_returns_its_join_link(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    booked = await calendar.create_event(meeting())

    assert booked.join_url is not None
    assert booked.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    event = graph.events[booked.event_id]
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["subject"] == "UoPP meeting: case C-1042"
    assert event["body"]["contentType"].lower() == "html"
    assert [(a["emailAddress"]["address"], a["type"]) for a in event["attendees"]] == [
        (MANAGER, "required"),
        (PRACTITIONER, "required"),
    ]
    assert event["start"] == {"dateTime": "2026-11-23T10:00:00", "timeZone": "UTC"}
    assert event["transactionId"] == "uopp-audit-17-1"


async def test_creating_the_same_meeting_twice_books_it_once(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    first = await calendar.create_event(meeting())
    again = await calendar.create_event(meeting())
    other = await calendar.create_event(meeting("uopp-audit-18-1"))

    assert again == first
    assert other.event_id != first.event_id
    assert len(graph.events) == 2


async def test_a_booked_meeting_shows_in_the_next_free_busy(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    await calendar.create_event(meeting())

    found = await calendar.schedules(
        ORGANISER, (ORGANISER, MANAGER), MONDAY, MONDAY + timedelta(days=1)
    )

    assert [(b.start.hour, b.status) for b in found[ORGANISER].busy] == [(10, "busy")]
    assert [(b.start.hour, b.status) for b in found[MANAGER].busy] == [(10, "tentative")]


async def test_responses_show_who_declined(graph: GraphStandIn, calendar: GraphCalendar) -> None:
    booked = await calendar.create_event(meeting())
    assert await calendar.responses(ORGANISER, booked.event_id) == {
        MANAGER: "none",
        PRACTITIONER: "none",
    }

    graph.set_response(booked.event_id, PRACTITIONER, "declined")
    graph.set_response(booked.event_id, MANAGER, "accepted")

    assert await calendar.responses(ORGANISER, booked.event_id) == {
        MANAGER: "accepted",
        PRACTITIONER: "declined",
    }


async def test_cancelling_deletes_the_event_and_cancelling_again_is_harmless(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    booked = await calendar.create_event(meeting())

    await calendar.cancel(ORGANISER, booked.event_id)
    await calendar.cancel(ORGANISER, booked.event_id)

    assert graph.events == {}
    assert graph.calls["deleteEvent"] == 2
    with pytest.raises(CalendarUnavailable, match="404"):
        await calendar.responses(ORGANISER, booked.event_id)


async def test_cancelling_for_an_organiser_graph_does_not_know_is_reported(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    booked = await calendar.create_event(meeting())

    with pytest.raises(CalendarUnavailable, match="404 ErrorInvalidUser"):
        await calendar.cancel("nobody@council.gov.uk", booked.event_id)

    assert list(graph.events) == [booked.event_id]


async def test_one_token_serves_many_calls(graph: GraphStandIn, calendar: GraphCalendar) -> None:
    for _ in range(3):
        await calendar.schedules(ORGANISER, (MANAGER,), MONDAY, MONDAY + timedelta(days=1))
    await calendar.create_event(meeting())

    assert graph.calls["token"] == 1
    assert graph.graph_calls == 4


# -- throttling and failures -------------------------------------------------------


async def test_throttling_is_retried_after_the_wait_graph_asks_for(
    graph: GraphStandIn, calendar: GraphCalendar, waits: RecordedWaits
) -> None:
    graph.throttle_next(2, retry_after=7)

    booked = await calendar.create_event(meeting())

    assert waits == [7.0, 7.0]
    assert graph.calls["createEvent"] == 3
    assert list(graph.events) == [booked.event_id]


async def test_throttling_is_retried_with_real_waits_through_the_default_sleep(
    graph: GraphStandIn,
) -> None:
    calendar = build_calendar(graph_settings(graph))
    assert calendar is not None
    graph.throttle_next(1, retry_after=1)
    try:
        found = await calendar.schedules(ORGANISER, (MANAGER,), MONDAY, MONDAY + timedelta(days=1))
    finally:
        await calendar.close()

    assert found[MANAGER].error is None
    assert graph.calls["getSchedule"] == 2


async def test_service_unavailable_three_times_then_success_books_once(
    graph: GraphStandIn, calendar: GraphCalendar, waits: RecordedWaits
) -> None:
    graph.fail_next(503, 503, 503)

    booked = await calendar.create_event(meeting())

    assert waits == [0.5, 1.0, 2.0]  # backoff doubles when Graph gives no Retry-After
    assert graph.calls["createEvent"] == 4
    assert list(graph.events) == [booked.event_id]


async def test_a_create_whose_answer_was_lost_is_retried_into_the_same_event(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    graph.lose_next_answers(504, 504)

    booked = await calendar.create_event(meeting())

    assert graph.calls["createEvent"] == 3
    assert list(graph.events) == [booked.event_id]


async def test_many_meetings_can_ask_for_free_busy_at_once(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    windows = [MONDAY + timedelta(hours=h) for h in range(20)]

    found = await asyncio.gather(
        *(
            calendar.schedules(ORGANISER, (MANAGER, PRACTITIONER), w, w + timedelta(days=1))
            for w in windows
        )
    )

    assert all(set(f) == {MANAGER, PRACTITIONER} for f in found)
    assert graph.calls["getSchedule"] == 20
    assert graph.calls["token"] == 1  # one token fetched while the others waited for it


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_graph_down_for_good_is_reported_with_the_reason_and_nothing_is_created(
    graph: GraphStandIn, calendar: GraphCalendar, status: int
) -> None:
    graph.fail_next(*[status] * 10)

    with pytest.raises(CalendarUnavailable) as raised:
        await calendar.create_event(meeting())

    assert str(raised.value) == f"Graph answered {status} to createEvent after 4 attempts"
    assert "C-1042" not in str(raised.value)
    assert graph.events == {}
    assert graph.calls["createEvent"] == 4


async def test_graph_unreachable_is_retried_then_reported(graph: GraphStandIn) -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed_port = spare.getsockname()[1]
    waits = RecordedWaits()
    calendar = build_calendar(
        graph_settings(graph, graph_base_url=f"http://127.0.0.1:{closed_port}/v1.0"), sleep=waits
    )
    assert calendar is not None
    try:
        with pytest.raises(CalendarUnavailable, match=r"could not be reached .* after 4 attempts"):
            await calendar.schedules(ORGANISER, (MANAGER,), MONDAY, MONDAY + timedelta(days=1))
    finally:
        await calendar.close()
    assert len(waits) == 3


async def test_a_retry_after_longer_than_allowed_is_reported_at_once(
    graph: GraphStandIn, calendar: GraphCalendar, waits: RecordedWaits
) -> None:
    graph.throttle_next(1, retry_after=600)

    with pytest.raises(CalendarUnavailable, match="wait 600 s"):
        await calendar.create_event(meeting())

    assert waits == []
    assert graph.calls["createEvent"] == 1


async def test_no_permission_for_the_organisers_mailbox_is_reported_at_once(
    graph: GraphStandIn, calendar: GraphCalendar, waits: RecordedWaits
) -> None:
    graph.deny(ORGANISER)

    with pytest.raises(CalendarUnavailable, match=r"403 ErrorAccessDenied.*access policy"):
        await calendar.create_event(meeting())

    assert waits == [] and graph.calls["createEvent"] == 1


async def test_an_organiser_graph_does_not_know_is_reported_at_once(
    graph: GraphStandIn, calendar: GraphCalendar, waits: RecordedWaits
) -> None:
    with pytest.raises(CalendarUnavailable, match="404 ErrorInvalidUser"):
        await calendar.schedules(
            "nobody@council.gov.uk", (MANAGER,), MONDAY, MONDAY + timedelta(days=1)
        )

    assert waits == []


async def test_a_token_from_another_tenant_is_refused_by_graph(graph: GraphStandIn) -> None:
    other_tenant = "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
    graph.other_tenants.add(other_tenant)
    calendar = build_calendar(graph_settings(graph, graph_tenant_id=other_tenant))
    assert calendar is not None
    try:
        with pytest.raises(CalendarUnavailable, match=r"401 InvalidAuthenticationToken"):
            await calendar.create_event(meeting())
    finally:
        await calendar.close()
    assert graph.calls["token"] == 1 and graph.events == {}


async def test_a_wrong_secret_is_refused_by_entra_before_graph_is_called(
    graph: GraphStandIn,
) -> None:
    calendar = build_calendar(graph_settings(graph, graph_client_secret="not-the-secret"))
    assert calendar is not None
    try:
        with pytest.raises(CalendarUnavailable, match=r"Entra refused .*\(AADSTS7000215\)"):
            await calendar.schedules(ORGANISER, (MANAGER,), MONDAY, MONDAY + timedelta(days=1))
    finally:
        await calendar.close()
    assert graph.graph_calls == 0


async def test_entra_failing_for_good_is_reported_as_an_outage_not_as_bad_credentials(
    graph: GraphStandIn,
) -> None:
    graph.fail_token_next(*[503] * 10)
    calendar = build_calendar(graph_settings(graph))
    assert calendar is not None
    try:
        with pytest.raises(CalendarUnavailable, match="Entra answered 503 .* try again later"):
            await calendar.create_event(meeting())
    finally:
        await calendar.close()
    assert graph.graph_calls == 0 and graph.calls["token"] > 1


async def test_entra_failing_once_is_retried_and_the_meeting_booked(graph: GraphStandIn) -> None:
    graph.fail_token_next(503)
    calendar = build_calendar(graph_settings(graph))
    assert calendar is not None
    try:
        booked = await calendar.create_event(meeting())
    finally:
        await calendar.close()
    assert list(graph.events) == [booked.event_id]


async def test_asking_about_nobody_asks_graph_nothing(
    graph: GraphStandIn, calendar: GraphCalendar
) -> None:
    assert await calendar.schedules(ORGANISER, (), MONDAY, MONDAY + timedelta(days=1)) == {}
    assert graph.calls["getSchedule"] == 0


async def test_the_stand_in_refuses_calls_without_a_token(graph: GraphStandIn) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{graph.base_url}/users/{ORGANISER}/mailboxSettings")
        body = await answer.json()
    assert answer.status == 401
    assert body["error"]["code"] == "InvalidAuthenticationToken"


# -- certificate credential --------------------------------------------------------


def _certificate(folder: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditbot-graph")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = folder / "auditbot-graph.pem"
    path.write_bytes(key_pem + cert_pem)
    return path, cert_pem


async def test_a_certificate_credential_gets_a_token_graph_accepts(
    graph: GraphStandIn, tmp_path: Path
) -> None:
    path, cert_pem = _certificate(tmp_path)
    graph.register_certificate(cert_pem)
    settings = graph_settings(graph, graph_client_secret="", graph_certificate_path=str(path))
    calendar = build_calendar(settings)
    assert calendar is not None
    try:
        found = await calendar.schedules(ORGANISER, (MANAGER,), MONDAY, MONDAY + timedelta(days=1))
    finally:
        await calendar.close()
    assert found[MANAGER].error is None and graph.calls["token"] == 1


async def test_an_unregistered_certificate_is_refused(graph: GraphStandIn, tmp_path: Path) -> None:
    path, _ = _certificate(tmp_path)
    settings = graph_settings(graph, graph_client_secret="", graph_certificate_path=str(path))
    calendar = build_calendar(settings)
    assert calendar is not None
    try:
        with pytest.raises(CalendarUnavailable, match="Entra refused"):
            await calendar.create_event(meeting())
    finally:
        await calendar.close()
    assert graph.events == {}


# -- start-up ----------------------------------------------------------------------

WARM_UP = """
import asyncio, sys
from bot.config import load_settings
from bot.graph import build_calendar

MODEL = "msgraph.generated.models.calendar_permission"
settings = load_settings(
    app_id=sys.argv[1], app_type="UserAssignedMSI", tenant_id=sys.argv[1],
    graph_tenant_id=sys.argv[1], graph_client_id=sys.argv[2],
    graph_client_secret="unused: warming up calls nobody",
)

async def main():
    calendar = build_calendar(settings)
    before = MODEL in sys.modules
    await calendar.warm_up()
    after = MODEL in sys.modules
    await calendar.close()
    print(before, after)

asyncio.run(main())
"""


def test_warming_up_loads_the_models_reading_an_event_would_otherwise_load_on_the_loop() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", WARM_UP, TENANT_ID, CLIENT_ID],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


# -- configuration -----------------------------------------------------------------


def test_without_graph_settings_there_is_no_graph_calendar() -> None:
    assert build_calendar(load_settings(demo=True)) is None


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"graph_tenant_id": TENANT_ID}, "AUDITBOT_GRAPH_CLIENT_ID"),
        ({"graph_client_id": CLIENT_ID}, "AUDITBOT_GRAPH_TENANT_ID"),
        ({"graph_client_secret": CLIENT_SECRET}, "AUDITBOT_GRAPH_TENANT_ID"),
        (
            {"graph_tenant_id": TENANT_ID, "graph_client_id": CLIENT_ID},
            "AUDITBOT_GRAPH_CLIENT_SECRET",
        ),
        (
            {
                "graph_tenant_id": TENANT_ID,
                "graph_client_id": CLIENT_ID,
                "graph_client_secret": CLIENT_SECRET,
                "graph_certificate_path": __file__,
            },
            "AUDITBOT_GRAPH_CLIENT_SECRET",
        ),
        (
            {
                "graph_tenant_id": TENANT_ID,
                "graph_client_id": CLIENT_ID,
                "graph_certificate_path": "/nonexistent/graph.pem",
            },
            "AUDITBOT_GRAPH_CERTIFICATE_PATH",
        ),
        ({"graph_base_url": "http://graph.example.org/v1.0"}, "AUDITBOT_GRAPH_BASE_URL"),
        ({"graph_authority_host": "http://login.example.org"}, "AUDITBOT_GRAPH_AUTHORITY_HOST"),
        ({"graph_ca_file": "/nonexistent/ca.pem"}, "AUDITBOT_GRAPH_CA_FILE"),
        ({"graph_max_retries": -1}, "AUDITBOT_GRAPH_MAX_RETRIES"),
        (
            {"graph_managed_identity": True, "graph_client_secret": CLIENT_SECRET},
            "AUDITBOT_GRAPH_MANAGED_IDENTITY",
        ),
        ({"entra_mapping": "/nonexistent/entra.toml"}, "AUDITBOT_ENTRA_MAPPING"),
    ],
)
def test_half_a_graph_configuration_names_the_variable_to_fix(
    settings: dict[str, Any], variable: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(**DEPLOYED, **settings)
    assert str(raised.value).startswith(f"{variable}:")


def test_a_complete_graph_configuration_is_accepted() -> None:
    settings = load_settings(
        **DEPLOYED,
        graph_tenant_id=TENANT_ID,
        graph_client_id=CLIENT_ID,
        graph_client_secret=CLIENT_SECRET,
    )
    assert settings.graph_configured
    assert settings.graph_base_url == "https://graph.microsoft.com/v1.0"


def test_the_managed_identity_alone_configures_graph() -> None:
    settings = load_settings(**DEPLOYED, graph_managed_identity=True)
    assert settings.graph_configured
