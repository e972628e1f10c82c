"""All tables. Import models from here; the modules split them by subject."""

from storage.models.audits import (
    Audit,
    ExemptionRequest,
    Moderation,
    Recommendation,
    SectionGrade,
)
from storage.models.base import Base
from storage.models.cases import Case, CaseAttribute, CaseInvolvement
from storage.models.cycle_meetings import CycleMeeting, CycleMeetingKind, CycleMeetingState
from storage.models.cycles import Cycle, Kloe, KloeApproval
from storage.models.disputes import Dispute
from storage.models.events import AuditEvent, AuditEventRedaction
from storage.models.follow_up import FollowUp, FollowUpKind
from storage.models.meetings import Meeting, MeetingAttendee
from storage.models.messaging import BotState, ConversationRef, OutboxMessage
from storage.models.people import (
    EntraMembership,
    EntraSyncState,
    RoleAssignment,
    Service,
    Staff,
    Team,
)
from storage.models.programmes import ProgrammeVersion
from storage.models.reminders import Reminder, ReminderDay, SchedulerRun
from storage.models.workspace import (
    Acknowledgement,
    LearningItem,
    LearningSource,
    LearningStatus,
    Rag,
    RecommendationReview,
    ReportNote,
)

__all__ = [
    "EntraMembership",
    "EntraSyncState",
    "Acknowledgement",
    "LearningItem",
    "LearningSource",
    "LearningStatus",
    "Rag",
    "RecommendationReview",
    "ReportNote",
    "Audit",
    "AuditEvent",
    "AuditEventRedaction",
    "Base",
    "BotState",
    "Case",
    "CaseAttribute",
    "CaseInvolvement",
    "ExemptionRequest",
    "FollowUp",
    "FollowUpKind",
    "ConversationRef",
    "Cycle",
    "CycleMeeting",
    "CycleMeetingKind",
    "CycleMeetingState",
    "Dispute",
    "Kloe",
    "KloeApproval",
    "Meeting",
    "MeetingAttendee",
    "Moderation",
    "ProgrammeVersion",
    "OutboxMessage",
    "Recommendation",
    "Reminder",
    "ReminderDay",
    "RoleAssignment",
    "SchedulerRun",
    "SectionGrade",
    "Service",
    "Staff",
    "Team",
]
