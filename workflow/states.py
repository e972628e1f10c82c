"""The life of one audit, as an explicit state machine.

The whole lifecycle is the table `TRANSITIONS`: each row names an action,
the states it may start from, the state it leads to, and the parties who
may take it. `transition()` is the only way to move an audit on; it either
returns the new state or raises, so a refused action changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflow.errors import IllegalTransition, NotAllowed
from workflow.roles import Party


class AuditState(StrEnum):
    ALLOCATED = "allocated"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    RETURNED = "returned"  # returned to the auditor for completion
    MODERATED = "moderated"
    DISPUTED = "disputed"
    DECIDED = "decided"  # a dispute settled by the HoS and Audit Team; final
    UOPP_BOOKED = "uopp_booked"
    UOPP_HELD = "uopp_held"
    FOLLOW_UP = "follow_up"  # dip audit / re-audit pending
    CLOSED = "closed"
    INVALIDATED = "invalidated"
    REALLOCATED = "reallocated"  # this allocation ended; a successor audit carries on

    @property
    def label(self) -> str:
        """How the state reads in a sentence: "it is <label>"."""
        return STATE_LABELS[self]


STATE_LABELS: dict[AuditState, str] = {
    AuditState.ALLOCATED: "allocated and not yet started",
    AuditState.IN_PROGRESS: "in progress",
    AuditState.SUBMITTED: "submitted and waiting for moderation",
    AuditState.RETURNED: "back with the auditor for completion",
    AuditState.MODERATED: "moderated",
    AuditState.DISPUTED: "disputed",
    AuditState.DECIDED: "decided after a dispute",
    AuditState.UOPP_BOOKED: "waiting for its UoPP meeting",
    AuditState.UOPP_HELD: "past its UoPP meeting",
    AuditState.FOLLOW_UP: "in follow-up (dip audit or re-audit)",
    AuditState.CLOSED: "closed",
    AuditState.INVALIDATED: "invalidated",
    AuditState.REALLOCATED: "reallocated to another auditor",
}


# Past moderation and not ended: what an audit moderated first (the Inadequate fast path) can
# be in while its completeness check is still to be recorded.
MODERATED_ONWARDS = frozenset(
    {
        AuditState.MODERATED,
        AuditState.DISPUTED,
        AuditState.DECIDED,
        AuditState.UOPP_BOOKED,
        AuditState.UOPP_HELD,
        AuditState.FOLLOW_UP,
    }
)


class Action(StrEnum):
    """Everything that moves an audit on. Members are strings, so callers may
    pass either `Action.SUBMIT` or "submit"."""

    START = "start"
    SUBMIT = "submit"
    RETURN_FOR_COMPLETION = "return_for_completion"
    RESUBMIT = "resubmit"
    MODERATE = "moderate"
    # No moderation for this audit (not drawn for the sample, or none in the programme):
    # the auditor's grade stands and the audit goes on as a moderated one does.
    LET_GRADE_STAND = "let_grade_stand"
    DISPUTE = "dispute"
    RESOLVE_DISPUTE = "resolve_dispute"
    DECIDE = "decide"
    BOOK_UOPP = "book_uopp"
    RESCHEDULE_UOPP = "reschedule_uopp"
    RECORD_UOPP_HELD = "record_uopp_held"
    START_FOLLOW_UP = "start_follow_up"
    RECORD_FOLLOW_UP = "record_follow_up"
    CLOSE = "close"
    INVALIDATE = "invalidate"
    REALLOCATE = "reallocate"

    @property
    def label(self) -> str:
        """A verb phrase with an `{audit}` placeholder, for messages."""
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.START: "start {audit}",
    Action.SUBMIT: "submit {audit}",
    Action.RETURN_FOR_COMPLETION: "return {audit} to the auditor for completion",
    Action.RESUBMIT: "resubmit {audit}",
    Action.MODERATE: "moderate {audit}",
    Action.LET_GRADE_STAND: "let the auditor's grade of {audit} stand without moderation",
    Action.DISPUTE: "dispute the moderated grade of {audit}",
    Action.RESOLVE_DISPUTE: "resolve the dispute about {audit}",
    Action.DECIDE: "decide the dispute about {audit}",
    Action.BOOK_UOPP: "book the UoPP meeting for {audit}",
    Action.RESCHEDULE_UOPP: "reschedule the UoPP meeting for {audit}",
    Action.RECORD_UOPP_HELD: "record that the UoPP meeting for {audit} took place",
    Action.START_FOLLOW_UP: "start follow-up (dip audit or re-audit) of {audit}",
    Action.RECORD_FOLLOW_UP: "record a follow-up (dip audit, second UoPP or re-audit) of {audit}",
    Action.CLOSE: "close {audit}",
    Action.INVALIDATE: "invalidate {audit}",
    Action.REALLOCATE: "reallocate {audit}",
}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[AuditState]
    target: AuditState
    parties: frozenset[Party]


S = AuditState
P = Party


def _t(
    action: Action, sources: set[AuditState], target: AuditState, parties: set[Party]
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(parties))


TRANSITIONS: tuple[Transition, ...] = (
    _t(Action.START, {S.ALLOCATED}, S.IN_PROGRESS, {P.AUDITOR}),
    _t(Action.SUBMIT, {S.IN_PROGRESS}, S.SUBMITTED, {P.AUDITOR}),
    # The completeness check: an incomplete audit goes back with a deadline.
    _t(Action.RETURN_FOR_COMPLETION, {S.SUBMITTED}, S.RETURNED, {P.AUDIT_TEAM}),
    _t(Action.RESUBMIT, {S.RETURNED}, S.SUBMITTED, {P.AUDITOR}),
    _t(Action.MODERATE, {S.SUBMITTED}, S.MODERATED, {P.MODERATOR}),
    _t(Action.LET_GRADE_STAND, {S.SUBMITTED}, S.MODERATED, {P.SYSTEM}),
    # Practitioner, TM or coordinator disagree; first they talk to the moderator.
    # The UoPP is booked within minutes of moderation, so a dispute may follow it.
    _t(
        Action.DISPUTE,
        {S.MODERATED, S.UOPP_BOOKED},
        S.DISPUTED,
        {P.PRACTITIONER, P.TEAM_MANAGER, P.COORDINATOR},
    ),
    # Settled in discussion: the moderator revises the grade or stands by it.
    _t(Action.RESOLVE_DISPUTE, {S.DISPUTED}, S.MODERATED, {P.MODERATOR}),
    # Unresolved: the Head of Service and the Audit Team decide, and that is final.
    _t(Action.DECIDE, {S.DISPUTED}, S.DECIDED, {P.HEAD_OF_SERVICE, P.AUDIT_TEAM}),
    _t(
        Action.BOOK_UOPP,
        {S.MODERATED, S.DECIDED},
        S.UOPP_BOOKED,
        {P.SYSTEM, P.AUDITOR, P.AUDIT_MANAGER, P.AUDIT_TEAM},
    ),
    _t(
        Action.RESCHEDULE_UOPP,
        {S.UOPP_BOOKED},
        S.UOPP_BOOKED,
        {P.SYSTEM, P.AUDITOR, P.AUDIT_MANAGER, P.AUDIT_TEAM},
    ),
    _t(Action.RECORD_UOPP_HELD, {S.UOPP_BOOKED}, S.UOPP_HELD, {P.AUDITOR, P.AUDIT_MANAGER}),
    _t(Action.START_FOLLOW_UP, {S.UOPP_HELD}, S.FOLLOW_UP, {P.SYSTEM, P.AUDIT_TEAM}),
    # Dip audit result, second UoPP after Inadequate, re-audit result: the
    # audit stays in follow-up until it is closed.
    _t(
        Action.RECORD_FOLLOW_UP,
        {S.FOLLOW_UP},
        S.FOLLOW_UP,
        {P.AUDIT_TEAM, P.AUDIT_MANAGER, P.COORDINATOR},
    ),
    _t(Action.CLOSE, {S.UOPP_HELD, S.FOLLOW_UP}, S.CLOSED, {P.AUDIT_TEAM, P.SYSTEM}),
    # Nothing more owed under the audit's programme: no meeting, no part B, no dispute
    # route left (dialogs/closing.py decides).
    _t(Action.CLOSE, {S.MODERATED, S.DECIDED}, S.CLOSED, {P.SYSTEM}),
    # E.g. the audit was done without contacting the practitioner.
    _t(
        Action.INVALIDATE,
        {S.ALLOCATED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED},
        S.INVALIDATED,
        {P.AUDIT_TEAM},
    ),
    # After an exemption granted by the HoS; a returned audit can be handed on
    # too, e.g. when its auditor leaves before fixing it.
    _t(
        Action.REALLOCATE,
        {S.ALLOCATED, S.IN_PROGRESS, S.RETURNED},
        S.REALLOCATED,
        {P.AUDIT_TEAM},
    ),
)

_BY_STATE_AND_ACTION: dict[tuple[AuditState, str], Transition] = {
    (source, str(t.action)): t for t in TRANSITIONS for source in t.sources
}

_ACTIONS_BY_VALUE: dict[str, Action] = {a.value: a for a in Action}

TERMINAL_STATES: frozenset[AuditState] = frozenset({S.CLOSED, S.INVALIDATED, S.REALLOCATED})


def find_transition(state: AuditState, action: str) -> Transition | None:
    """The transition `action` would take from `state`, or None."""
    return _BY_STATE_AND_ACTION.get((AuditState(state), str(action)))


def transition(
    state: AuditState, action: str, party: Party, *, case_ref: str | None = None
) -> AuditState:
    """The state an audit moves to when `party` takes `action`.

    Raises IllegalTransition if the action does not apply in this state
    (checked first, so the message says what is wrong with the audit), and
    NotAllowed if it applies but not from this party. `case_ref` only makes
    the error message name the case.
    """
    found = find_transition(state, action)
    shown_action: str = _ACTIONS_BY_VALUE.get(str(action), action)
    if found is None:
        raise IllegalTransition(shown_action, AuditState(state), case_ref)
    if Party(party) not in found.parties:
        raise NotAllowed(shown_action, Party(party), case_ref, allowed=found.parties)
    return found.target


def allowed_actions(state: AuditState, party: Party) -> list[str]:
    """Actions this party may take on an audit in this state, in table order
    (the order a card should offer them)."""
    return [
        t.action
        for t in TRANSITIONS
        if AuditState(state) in t.sources and Party(party) in t.parties
    ]


def is_terminal(state: AuditState) -> bool:
    """True when nothing more can happen to this audit (closed, invalidated,
    or handed on to a successor audit). A decided dispute is final about the
    grade, but the audit still goes on to its UoPP meeting."""
    return AuditState(state) in TERMINAL_STATES
