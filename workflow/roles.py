"""Who people are in the audit programme.

A `Role` is held by a person for a service or a team (DOMAIN.md: "a role is
held for a service or team, not globally"). A `Party` is the part someone
plays in one particular audit; it is what the state machine checks.
"""

from enum import StrEnum


class Role(StrEnum):
    """An organisational role, held for a service or a team."""

    PRACTITIONER = "practitioner"
    TEAM_MANAGER = "team_manager"
    AUDITOR = "auditor"
    MODERATOR = "moderator"
    AUDIT_TEAM = "audit_team"
    AUDIT_MANAGER = "audit_manager"
    COORDINATOR = "coordinator"
    HEAD_OF_SERVICE = "head_of_service"
    DIVISIONAL_DIRECTOR = "divisional_director"
    HEAD_OF_SAFEGUARDING_QA = "head_of_safeguarding_qa"
    # Roles some councils' programmes give a part (DOMAIN.md, "What varies by programme").
    PRINCIPAL_SOCIAL_WORKER = "principal_social_worker"
    LEAD_AUDITOR = "lead_auditor"
    QA_OFFICER = "qa_officer"
    EXTERNAL_MODERATOR = "external_moderator"
    EXTERNAL_CONSULTANT = "external_consultant"
    PANEL_CHAIR = "panel_chair"
    EXECUTIVE_DIRECTOR = "executive_director"
    ASSISTANT_DIRECTOR = "assistant_director"
    SMT = "smt"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.PRACTITIONER: "Practitioner",
    Role.TEAM_MANAGER: "Team Manager",
    Role.AUDITOR: "Auditor",
    Role.MODERATOR: "Moderator",
    Role.AUDIT_TEAM: "Audit Team",
    Role.AUDIT_MANAGER: "Audit Manager",
    Role.COORDINATOR: "EH Coordinator Lead / Group Manager",
    Role.HEAD_OF_SERVICE: "Head of Service",
    Role.DIVISIONAL_DIRECTOR: "Divisional Director",
    Role.HEAD_OF_SAFEGUARDING_QA: "Head of Safeguarding and QA",
    Role.PRINCIPAL_SOCIAL_WORKER: "Principal Social Worker",
    Role.LEAD_AUDITOR: "Lead Auditor",
    Role.QA_OFFICER: "Quality Assurance Officer",
    Role.EXTERNAL_MODERATOR: "External Moderator",
    Role.EXTERNAL_CONSULTANT: "External Consultant",
    Role.PANEL_CHAIR: "Independent Panel Chair",
    Role.EXECUTIVE_DIRECTOR: "Executive Director",
    Role.ASSISTANT_DIRECTOR: "Assistant Director",
    Role.SMT: "Senior Management Team",
}


class Party(StrEnum):
    """The part a person plays in one audit; transitions name the parties allowed."""

    AUDITOR = "auditor"
    MODERATOR = "moderator"
    PRACTITIONER = "practitioner"
    TEAM_MANAGER = "team_manager"
    COORDINATOR = "coordinator"
    AUDIT_TEAM = "audit_team"
    AUDIT_MANAGER = "audit_manager"
    HEAD_OF_SERVICE = "head_of_service"
    SYSTEM = "system"
