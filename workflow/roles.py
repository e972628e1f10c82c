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
