"""Teams' limits, retries and error codes: the rules on their own, then the sender against a
stand-in that enforces the limits itself over real HTTP."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from bot.config import ConfigError, load_settings
from bot.connector import ConnectorError, parse_retry_after
from bot.delivery import RetryPolicy, Row, Verdict, build_activity, group_into_deliveries, judge
from bot.outbox import TEAMS_LIMITS_PER_APP, TEAMS_LIMITS_PER_CONVERSATION, SenderOptions
from bot.ratelimit import RateLimiter, SystemClock, Window, parse_windows
from storage.enums import OutboxState
from tests.bot.test_outbox import create_person, personal_chat, queue_notice, running_outbox
from tests.conftest import Database
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn


def assert_within(stamps: list[float], windows, slack: float = 1e-9) -> None:
    """No window of `seconds` holds more than `count` of the (sorted) stamps."""
    stamps = sorted(stamps)
    for window in windows:
        count, seconds = (window.count, window.seconds) if isinstance(window, Window) else window
        for first, last in zip(stamps, stamps[count:], strict=False):
            assert last - first >= seconds - slack, (count, seconds, first, last)


def test_teams_documented_limits_are_the_defaults():
    assert SenderOptions().conversation_windows == TEAMS_LIMITS_PER_CONVERSATION
    assert SenderOptions().app_windows == TEAMS_LIMITS_PER_APP
    assert parse_windows("7/1,8/2,60/30,1800/3600") == TEAMS_LIMITS_PER_CONVERSATION
    assert parse_windows("50/1") == TEAMS_LIMITS_PER_APP


def test_one_conversation_gets_seven_at_once_then_follows_the_longer_windows():
    limiter = RateLimiter(TEAMS_LIMITS_PER_APP, TEAMS_LIMITS_PER_CONVERSATION)
    times = []
    now = 0.0
    for _ in range(70):
        now = limiter.earliest("staff:1", now)
        limiter.record("staff:1", now).done(now)
        times.append(now)

    assert times[:7] == [0.0] * 7
    assert times[7] == 1.0  # 7 in a second
    assert times[8] == 2.0  # 8 in two seconds
    assert times[60] >= 30.0  # 60 in thirty seconds
    assert_within(times, TEAMS_LIMITS_PER_CONVERSATION)


def test_the_greedy_schedule_keeps_every_window_for_the_app_and_each_conversation():
    rng = random.Random(11)
    limiter = RateLimiter(TEAMS_LIMITS_PER_APP, TEAMS_LIMITS_PER_CONVERSATION)
    sent: dict[str, list[float]] = defaultdict(list)
    now = 0.0
    for _ in range(3000):
        key = f"staff:{rng.randrange(40)}"
        now += rng.choice([0.0, 0.0, 0.001, 0.05])
        at = limiter.earliest(key, now)
        limiter.record(key, at).done(at)
        sent[key].append(at)
        now = at

    everything = [at for times in sent.values() for at in times]
    assert_within(everything, TEAMS_LIMITS_PER_APP)
    for times in sent.values():
        assert_within(times, TEAMS_LIMITS_PER_CONVERSATION)


def test_messages_to_many_people_go_at_the_full_app_rate():
    limiter = RateLimiter(TEAMS_LIMITS_PER_APP, TEAMS_LIMITS_PER_CONVERSATION)
    times = []
    for n in range(500):
        at = limiter.earliest(f"staff:{n}", times[-1] if times else 0.0)
        limiter.record(f"staff:{n}", at).done(at)
        times.append(at)
    assert times[49] == 0.0 and times[50] == 1.0 and times[-1] == 9.0


def test_the_margin_lengthens_every_window():
    limiter = RateLimiter([Window(2, 1.0)], [Window(100, 1.0)], margin=0.05)
    for _ in range(2):
        limiter.record("c", 0.0).done(0.0)
    assert limiter.earliest("c", 0.0) == pytest.approx(1.05)


def test_a_window_counts_from_when_the_old_request_was_answered_not_when_it_left():
    """It reached Teams at some moment before its answer came back; only that bound is safe."""
    limiter = RateLimiter([Window(1, 1.0)], [Window(100, 1.0)], pending=30.0)
    ticket = limiter.record("c", 0.0)
    assert limiter.earliest("c", 0.1) == 31.0  # under way: counted as lasting its whole timeout
    ticket.done(0.25)
    assert limiter.earliest("c", 0.3) == 1.25


def test_a_held_conversation_waits_while_others_go():
    limiter = RateLimiter(TEAMS_LIMITS_PER_APP, TEAMS_LIMITS_PER_CONVERSATION)
    limiter.hold("staff:1", 30.0)
    assert limiter.earliest("staff:1", 0.0) == 30.0
    assert limiter.earliest("staff:2", 0.0) == 0.0
    assert limiter.busy_conversations(0.0, 1.0, {}) == {"staff:1"}


def test_projected_slots_account_for_messages_already_waiting():
    limiter = RateLimiter(TEAMS_LIMITS_PER_APP, TEAMS_LIMITS_PER_CONVERSATION)
    assert limiter.conversation_ready_at("staff:1", 0.0, ahead=7) == 1.0
    assert limiter.busy_conversations(0.0, 0.5, {"staff:1": 7, "staff:2": 3}) == {"staff:1"}


@pytest.mark.parametrize("text", ["7", "7/0", "0/1", "a/b", "7/1,,8/2"])
def test_malformed_limits_are_refused_with_the_variable_named(text: str):
    with pytest.raises(ConfigError, match="^AUDITBOT_OUTBOX_CONVERSATION_LIMITS: "):
        load_settings(demo=True, outbox_conversation_limits=text)


def test_a_claim_that_could_expire_during_a_send_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="^AUDITBOT_OUTBOX_CLAIM_TIMEOUT_SECONDS: "):
        load_settings(demo=True, outbox_request_timeout_seconds=30, outbox_claim_timeout_seconds=60)


@pytest.mark.parametrize(
    ("request_timeout", "busy_timeout", "claim_timeout", "refused"),
    [
        (1, 15, 20, True),  # two requests fit, but not a write waiting on SQLite's lock
        (1, 15, 32, True),  # exactly the budget: nothing left to start a send in
        (1, 15, 33, False),
        (2, 1, 7, False),
        (30, 15, 120, False),  # the defaults
    ],
)
def test_a_claim_must_outlast_everything_one_send_can_wait_on(
    request_timeout: float, busy_timeout: float, claim_timeout: float, refused: bool
):
    values = {
        "outbox_request_timeout_seconds": request_timeout,
        "database_busy_timeout_seconds": busy_timeout,
        "outbox_claim_timeout_seconds": claim_timeout,
    }
    if refused:
        with pytest.raises(ConfigError) as error:
            load_settings(demo=True, **values)
        assert str(error.value).startswith("AUDITBOT_OUTBOX_CLAIM_TIMEOUT_SECONDS: must be more")
        assert f"(here {2 * request_timeout + 2 * busy_timeout:g} s)" in str(error.value)
    else:
        settings = load_settings(demo=True, **values)
        assert SenderOptions.from_settings(settings).send_budget < claim_timeout


def test_retry_after_is_honoured_with_a_little_jitter():
    policy = RetryPolicy(max_attempts=5)
    for attempt in (1, 3):
        delay = policy.delay(attempt, 12.0, random.Random(attempt))
        assert delay is not None and 12.0 <= delay <= 13.0


def test_backoff_doubles_with_jitter_and_stops_at_the_bound():
    policy = RetryPolicy(max_attempts=6, base_seconds=2.0, max_seconds=20.0)
    rng = random.Random(5)
    ranges = {1: (1, 2), 2: (2, 4), 3: (4, 8), 4: (8, 16), 5: (10, 20)}
    for attempt, (low, high) in ranges.items():
        delay = policy.delay(attempt, None, rng)
        assert delay is not None and low <= delay <= high
    assert policy.delay(6, None, rng) is None
    assert policy.delay(6, 1.0, rng) is None


def test_retry_after_is_read_as_seconds_or_as_a_date():
    now = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 23 Nov 2026 09:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "code", "creating", "verdict", "why"),
    [
        (429, "Throttled", False, Verdict.RETRY, None),
        (412, "PreconditionFailed", False, Verdict.RETRY, None),
        (502, None, False, Verdict.RETRY, None),
        (503, None, True, Verdict.RETRY, None),
        (504, None, False, Verdict.RETRY, None),
        (None, "ReadTimeout", False, Verdict.RETRY, None),
        (403, "MessageWritesBlocked", False, Verdict.UNREACHABLE, "blocked"),
        (403, "ConversationBlockedByUser", False, Verdict.UNREACHABLE, "blocked"),
        (403, "BotNotInConversationRoster", True, Verdict.UNREACHABLE, "not_installed"),
        (403, "BotNotInConversationRoster", False, Verdict.UNREACHABLE, "not_installed"),
        (403, "BotDisabledByAdmin", False, Verdict.UNREACHABLE, "disabled"),
        (404, "ConversationNotFound", False, Verdict.CONVERSATION_GONE, None),
        (404, "NotFound", True, Verdict.UNREACHABLE, "not_installed"),
        (400, "BadArgument", False, Verdict.FAILED, None),
        (401, "BotNotRegistered", False, Verdict.FAILED, None),
        (413, "MessageSizeTooBig", False, Verdict.FAILED, None),
    ],
)
def test_each_teams_answer_has_one_meaning(status, code, creating, verdict, why):
    assert judge(ConnectorError(status, code), creating=creating) == (verdict, why)


def test_blocked_is_recognised_when_teams_sends_it_as_a_sub_code():
    error = ConnectorError(403, "Forbidden", sub_code="MessageWritesBlocked")
    assert judge(error, creating=False) == (Verdict.UNREACHABLE, "blocked")
    assert error.reason == "HTTP 403 Forbidden MessageWritesBlocked"


def row(n: int, recipient: int, bundle: str | None, card_chars: int = 10) -> Row:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"text": "x" * card_chars}]}
    payload = {"summary": f"s{n}", "card": card, "text": None, "bundle": bundle}
    return Row(n, recipient, None, "k", payload, 1, datetime(2026, 1, 1, tzinfo=UTC), "worker#1")


def test_bundles_are_per_person_and_split_to_stay_under_teams_message_size():
    rows = [row(1, 7, "b"), row(2, 8, "b"), row(3, 7, "b"), row(4, 7, None), row(5, 7, "c")]
    deliveries = group_into_deliveries(rows)
    assert [d.ids for d in deliveries] == [[1, 3], [2], [4], [5]]

    big = [row(n, 7, "b", card_chars=30_000) for n in range(1, 5)]
    assert [d.ids for d in group_into_deliveries(big)] == [[1, 2], [3, 4]]
    many = [row(n, 7, "b") for n in range(1, 13)]
    assert [len(d.rows) for d in group_into_deliveries(many)] == [10, 2]


def test_a_bundle_is_one_activity_with_a_list_of_cards_and_a_one_line_summary():
    activity = build_activity([row(1, 7, "b"), row(2, 7, "b")])
    assert activity.attachment_layout == "list"
    assert len(activity.attachments) == 2
    assert activity.text == "2 updates: s1; s2"
    assert activity.summary == activity.text


async def test_sends_keep_under_every_limit_the_stand_in_enforces(
    db: Database, identity: IdentityStandIn
):
    conversation = ((3, 0.5), (4, 1.0))
    app = ((10, 0.5),)
    async with ConnectorStandIn(
        conversation_limits=conversation, app_limits=app, tokens=identity.issued
    ) as connector:
        async with db.sessions.begin() as session:
            busy = await create_person(session, connector)
            others = [await create_person(session, connector) for _ in range(16)]
            for n in range(10):
                await queue_notice(session, busy, n)
            for n, person in enumerate(others, start=100):
                await queue_notice(session, person, n)
        options = {
            "conversation_windows": tuple(Window(c, s) for c, s in conversation),
            "app_windows": tuple(Window(c, s) for c, s in app),
            # The stand-in shares the test's event loop, so it stamps arrivals a little late
            # when the loop is busy; the margin covers that as it covers network jitter.
            "margin_seconds": 0.1,
        }
        async with running_outbox(
            db, connector, identity, clock=SystemClock(), **options
        ) as outbox:
            await outbox.drain(timeout=30)

        assert connector.throttled == 0
        assert sum(outbox.texts().values()) == 26 and set(outbox.texts().values()) == {1}
        busy_chat = personal_chat(busy.aad_object_id)
        to_busy = [s.at for s in connector.sent if s.conversation_id == busy_chat]
        assert len(to_busy) == 10
        assert_within(to_busy, conversation)
        assert_within([s.at for s in connector.sent], app)
        order = [s.activity["text"] for s in connector.sent if s.conversation_id == busy_chat]
        assert order == [f"notice {n}" for n in range(10)]  # one person's messages keep their order


async def test_two_hundred_rows_reach_the_right_people_exactly_once_while_teams_throttles(
    db: Database, identity: IdentityStandIn
):
    # The stand-in allows less than the sender believes it may send, so it throttles for real,
    # and throttles every seventh send besides, however fast or slow this machine is today.
    async with ConnectorStandIn(
        app_limits=((60, 1.0),), throttle_every=7, tokens=identity.issued
    ) as connector:
        async with db.sessions.begin() as session:
            people = [
                await create_person(session, connector, has_chat=n % 2 == 0) for n in range(100)
            ]
            expected = {}
            for n in range(200):
                person = people[n % 100]
                await queue_notice(session, person, n)
                expected[f"notice {n}"] = person
        options = {"app_windows": (Window(100, 1.0),), "margin_seconds": 0.0}
        async with running_outbox(
            db, connector, identity, clock=SystemClock(), **options
        ) as outbox:
            await outbox.sender.start()
            await connector.wait_until(lambda: len(connector.sent) >= 200, timeout=60)
            await outbox.sender.stop()
            messages = await outbox.messages()

    assert connector.throttled > 0
    assert outbox.texts() == {text: 1 for text in expected}
    created = {c.user_id: c.conversation_id for c in connector.created}
    for sent in connector.sent:
        person = expected[sent.activity["text"]]
        chat = created.get(person.aad_object_id, personal_chat(person.aad_object_id))
        assert sent.conversation_id == chat
    assert len(created) == 50
    assert {m.state for m in messages.values()} == {OutboxState.SENT}
    assert any(m.attempts > 1 for m in messages.values())
