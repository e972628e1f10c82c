"""The life of one audit, as an explicit state machine."""

from enum import StrEnum


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
