import pytest

from workflow.errors import IllegalTransition, NotAllowed
from workflow.roles import Party
from workflow.states import (
    TRANSITIONS,
    Action,
    AuditState,
    allowed_actions,
    is_terminal,
    transition,
)

S = AuditState
P = Party

# Every legal move, written out independently of the table it checks.
LEGAL = [
    (S.ALLOCATED, "start", P.AUDITOR, S.IN_PROGRESS),
    (S.IN_PROGRESS, "submit", P.AUDITOR, S.SUBMITTED),
    (S.SUBMITTED, "return_for_completion", P.AUDIT_TEAM, S.RETURNED),
    (S.RETURNED, "resubmit", P.AUDITOR, S.SUBMITTED),
    (S.SUBMITTED, "moderate", P.MODERATOR, S.MODERATED),
    (S.SUBMITTED, "let_grade_stand", P.SYSTEM, S.MODERATED),
    (S.MODERATED, "dispute", P.PRACTITIONER, S.DISPUTED),
    (S.MODERATED, "dispute", P.TEAM_MANAGER, S.DISPUTED),
    (S.MODERATED, "dispute", P.COORDINATOR, S.DISPUTED),
    (S.UOPP_BOOKED, "dispute", P.PRACTITIONER, S.DISPUTED),
    (S.UOPP_BOOKED, "dispute", P.TEAM_MANAGER, S.DISPUTED),
    (S.UOPP_BOOKED, "dispute", P.COORDINATOR, S.DISPUTED),
    (S.DISPUTED, "resolve_dispute", P.MODERATOR, S.MODERATED),
    (S.DISPUTED, "decide", P.HEAD_OF_SERVICE, S.DECIDED),
    (S.DISPUTED, "decide", P.AUDIT_TEAM, S.DECIDED),
    *[
        (source, "book_uopp", party, S.UOPP_BOOKED)
        for source in (S.MODERATED, S.DECIDED)
        for party in (P.SYSTEM, P.AUDITOR, P.AUDIT_MANAGER, P.AUDIT_TEAM)
    ],
    *[
        (S.UOPP_BOOKED, "reschedule_uopp", party, S.UOPP_BOOKED)
        for party in (P.SYSTEM, P.AUDITOR, P.AUDIT_MANAGER, P.AUDIT_TEAM)
    ],
    (S.UOPP_BOOKED, "record_uopp_held", P.AUDITOR, S.UOPP_HELD),
    (S.UOPP_BOOKED, "record_uopp_held", P.AUDIT_MANAGER, S.UOPP_HELD),
    (S.UOPP_HELD, "start_follow_up", P.SYSTEM, S.FOLLOW_UP),
    (S.UOPP_HELD, "start_follow_up", P.AUDIT_TEAM, S.FOLLOW_UP),
    (S.FOLLOW_UP, "record_follow_up", P.AUDIT_TEAM, S.FOLLOW_UP),
    (S.FOLLOW_UP, "record_follow_up", P.AUDIT_MANAGER, S.FOLLOW_UP),
    (S.FOLLOW_UP, "record_follow_up", P.COORDINATOR, S.FOLLOW_UP),
    *[
        (source, "close", party, S.CLOSED)
        for source in (S.UOPP_HELD, S.FOLLOW_UP)
        for party in (P.AUDIT_TEAM, P.SYSTEM)
    ],
    # Nothing more owed under its programme (dialogs/closing.py): only the system closes it.
    (S.MODERATED, "close", P.SYSTEM, S.CLOSED),
    (S.DECIDED, "close", P.SYSTEM, S.CLOSED),
    *[
        (source, "invalidate", P.AUDIT_TEAM, S.INVALIDATED)
        for source in (S.ALLOCATED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED)
    ],
    *[
        (source, "reallocate", P.AUDIT_TEAM, S.REALLOCATED)
        for source in (S.ALLOCATED, S.IN_PROGRESS, S.RETURNED)
    ],
]
LEGAL_KEYS = {(state, action, party) for state, action, party, _ in LEGAL}


@pytest.mark.parametrize(("state", "action", "party", "target"), LEGAL)
def test_legal_transition_reaches_its_target(state, action, party, target):
    assert transition(state, action, party) == target


def test_table_has_no_legal_move_the_test_list_lacks():
    in_table = {
        (source, str(t.action), party)
        for t in TRANSITIONS
        for source in t.sources
        for party in t.parties
    }
    assert in_table == LEGAL_KEYS


def test_every_other_combination_is_refused_with_a_typed_error():
    for state in AuditState:
        for action in Action:
            for party in Party:
                if (state, str(action), party) in LEGAL_KEYS:
                    continue
                with pytest.raises((IllegalTransition, NotAllowed)):
                    transition(state, action, party)


def test_action_that_does_not_apply_in_this_state_raises_illegal_transition():
    with pytest.raises(IllegalTransition) as raised:
        transition(S.ALLOCATED, "moderate", P.MODERATOR, case_ref="EH-1042")
    assert raised.value.action == "moderate"
    assert raised.value.state is S.ALLOCATED
    assert "EH-1042" in str(raised.value)
    assert "not yet started" in str(raised.value)


def test_wrong_party_raises_not_allowed_naming_who_can():
    with pytest.raises(NotAllowed) as raised:
        transition(S.SUBMITTED, "moderate", P.PRACTITIONER, case_ref="EH-1042")
    assert raised.value.party is P.PRACTITIONER
    assert str(raised.value) == (
        "The Practitioner cannot moderate the audit of case EH-1042. Only the Moderator can."
    )


def test_refused_action_leaves_the_state_unchanged():
    state = S.SUBMITTED
    with pytest.raises(NotAllowed):
        state = transition(state, "moderate", P.AUDITOR)
    assert state is S.SUBMITTED


def test_unknown_action_is_an_illegal_transition():
    with pytest.raises(IllegalTransition):
        transition(S.ALLOCATED, "approve_everything", P.AUDIT_TEAM)


def test_state_is_checked_before_party():
    with pytest.raises(IllegalTransition):
        transition(S.CLOSED, "moderate", P.PRACTITIONER)


def test_strings_are_accepted_for_state_and_party():
    assert transition("submitted", "moderate", "moderator") is S.MODERATED


def test_a_decided_dispute_cannot_be_disputed_again():
    with pytest.raises(IllegalTransition):
        transition(S.DECIDED, "dispute", P.PRACTITIONER)


def test_allowed_actions_for_auditor_on_a_returned_audit():
    assert allowed_actions(S.RETURNED, P.AUDITOR) == ["resubmit"]


def test_allowed_actions_for_audit_team_on_a_submitted_audit():
    assert allowed_actions(S.SUBMITTED, P.AUDIT_TEAM) == ["return_for_completion", "invalidate"]


def test_allowed_actions_agree_with_transition():
    for state in AuditState:
        for party in Party:
            for action in allowed_actions(state, party):
                transition(state, action, party)


@pytest.mark.parametrize("state", [S.CLOSED, S.INVALIDATED, S.REALLOCATED])
def test_terminal_states(state):
    assert is_terminal(state)
    assert all(allowed_actions(state, party) == [] for party in Party)


def test_only_terminal_states_have_no_way_out():
    for state in AuditState:
        has_exit = any(state in t.sources and t.target != state for t in TRANSITIONS)
        assert is_terminal(state) == (not has_exit)


def test_every_state_is_reachable_from_allocated():
    reached = {S.ALLOCATED}
    frontier = [S.ALLOCATED]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if state in t.sources and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == set(AuditState)


def test_every_state_and_action_has_a_label():
    assert all(state.label for state in AuditState)
    assert all("{audit}" in action.label for action in Action)
