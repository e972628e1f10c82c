"""Vocabularies that only the database needs to name.

The programme's shared vocabulary (Role, Grade, AuditState) lives in
`workflow`; these are the small closed sets of the tables themselves. Values
are stored as strings, so adding one needs no migration.
"""

from enum import StrEnum


class ServiceKind(StrEnum):
    EARLY_HELP = "early_help"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    YOUTH_JUSTICE = "youth_justice"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CycleState(StrEnum):
    PROPOSED = "proposed"  # KLOEs sent for approval
    SENT_BACK = "sent_back"  # an approver sent the KLOEs back; the Audit Team proposes again
    KLOE_APPROVED = "kloe_approved"
    OPEN = "open"
    CLOSED = "closed"


class KloeDecision(StrEnum):
    APPROVED = "approved"
    SENT_BACK = "sent_back"


class GradeStage(StrEnum):
    INITIAL = "initial"  # the auditor's grade
    MODERATED = "moderated"  # the moderator's view of it
    DECIDED = "decided"  # the Audit Team and HoS settling a dispute


class RecommendationLevel(StrEnum):
    CHILD = "child"
    SERVICE = "service"


class RecommendationStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    PARTLY = "partly"
    NOT_YET = "not_yet"


class RecommendationSource(StrEnum):
    AUDIT = "audit"
    UOPP = "uopp"


class MeetingKind(StrEnum):
    UOPP = "uopp"
    SECOND_UOPP = "second_uopp"


class MeetingState(StrEnum):
    PROPOSED = "proposed"
    BOOKING = "booking"  # claimed by a booker, which is asking the calendar now
    NEEDS_ORGANISER = "needs_organiser"  # no common slot: the organiser picks or asks to extend
    BOOKED = "booked"
    HELD = "held"
    NOT_HELD = "not_held"
    CANCELLED = "cancelled"


class OutboxState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"  # a permanent error; kept for the record
    UNREACHABLE = "unreachable"  # no conversation with the person (bot not installed)


class ExemptionState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"
