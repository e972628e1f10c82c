"""A council's audit programme, as typed values: what its programme file says.

DOMAIN.md's "What varies by programme" is the specification: every stage of
the cycle is a choice with its options, and a council writes its choices
down in a programme file (`workflow/programmes/*.toml`) instead of asking for
code. These models are that file's shape; `workflow.programme.load` reads
and checks a file into them. Flows ask the programme "what follows?" rather
than assuming Tower Hamlets Early Help's answer.

Every model refuses settings it does not know, so a misspelt choice is an
error with its line, never a silently ignored default.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from workflow.grades import Grade
from workflow.roles import Role
from workflow.tools import ServiceKind


class _Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Lower-case words and digits joined by hyphens or underscores: ids people type.
ID_PATTERN = r"^[a-z][a-z0-9_-]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class Month(StrEnum):
    JANUARY = "january"
    FEBRUARY = "february"
    MARCH = "march"
    APRIL = "april"
    MAY = "may"
    JUNE = "june"
    JULY = "july"
    AUGUST = "august"
    SEPTEMBER = "september"
    OCTOBER = "october"
    NOVEMBER = "november"
    DECEMBER = "december"

    @property
    def number(self) -> int:
        return list(Month).index(self) + 1


class About(_Choice):
    """Whose programme this is and where it was read from."""

    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=48)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    council: Annotated[str, Field(min_length=1, max_length=200)]
    source: str = ""
    # Roles this programme gives a part beyond the common ones (DOMAIN.md's last row).
    roles: list[Role] = Field(default_factory=list)


class Service(_Choice):
    """A service the programme audits, with its tools, numbers and closure days."""

    code: Annotated[str, Field(pattern=CODE_PATTERN, max_length=16)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: ServiceKind
    # The first tool is the service's usual one; the others may be chosen per cycle.
    tools: Annotated[list[str], Field(min_length=1)]
    # Overrides of workflow/rules.py for this service only; checked against it.
    rules: dict[str, object] = Field(default_factory=dict)
    # Days the council is closed beyond bank holidays (ISO dates), e.g. between Christmas
    # and New Year: no deadline falls on them and no meeting is booked on them.
    closure_days: list[date] = Field(default_factory=list)


class Cases(_Choice):
    """How many cases a cycle audits: in all, per team, or per trained auditor."""

    per_cycle: Annotated[int, Field(ge=1, le=2000)] | None = None
    per_team: Annotated[int, Field(ge=1, le=100)] | None = None
    # Hillingdon: "Audits are allocated on a monthly basis to all internal auditors".
    per_auditor: Annotated[int, Field(ge=1, le=10)] | None = None


class Recurring(_Choice):
    """Cycles that come round by the calendar: every N months, or in named months."""

    kind: Literal["recurring"]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    services: Annotated[list[str], Field(min_length=1)]
    every_months: Annotated[int, Field(ge=1, le=12)] | None = None
    # The first month a cycle runs in (with every_months), e.g. "february" for
    # February, April, June...
    starting: Month = Month.JANUARY
    months: list[Month] | None = None
    cases: Cases
    tool: str | None = None


class Rolling(_Choice):
    """A rolling timetable: each listed service audited N times a year, in turn."""

    kind: Literal["rolling"]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    services: Annotated[list[str], Field(min_length=1)]
    times_a_year: Annotated[int, Field(ge=1, le=12)]
    cases: Cases
    tool: str | None = None


class Thematic(_Choice):
    """Cycles on a theme, with the criteria that select their cases."""

    kind: Literal["thematic"]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    services: Annotated[list[str], Field(min_length=1)]
    # In these months the recurring cycle of the same services takes the theme,
    # instead of running beside it (Hillingdon: three of the monthly audits a year).
    months: list[Month] = Field(default_factory=list)
    times_a_year: Annotated[int, Field(ge=0, le=12)] = 0
    instead_of_recurring: bool = False
    theme_set_by: list[Role] = Field(default_factory=list)
    # "designed for each": the Audit Team names the tool when the cycle is proposed.
    tool_per_cycle: bool = False
    cases: Cases
    tool: str | None = None


class AdHoc(_Choice):
    """Cycles someone asks for outside the timetable."""

    kind: Literal["ad_hoc"]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    services: Annotated[list[str], Field(min_length=1)]
    requested_by: list[Role] = Field(default_factory=list)
    desktop: bool = False
    cases: Cases
    tool: str | None = None


Cycle = Annotated[Recurring | Rolling | Thematic | AdHoc, Field(discriminator="kind")]


class Timetable(_Choice):
    # Who is asked to propose each cycle when it falls due.
    proposed_to: Annotated[list[Role], Field(min_length=1)] = [Role.AUDIT_TEAM]
    cycles: Annotated[list[Cycle], Field(min_length=1)]


class Kloes(_Choice):
    """Key lines of enquiry: who approves them before cases are selected, or nobody."""

    approval: list[Role] = Field(default_factory=list)
    # How long before a cycle's audit month the KLOEs are agreed.
    lead_weeks: Annotated[int, Field(ge=0, le=26)] = 2


class Lookback(_Choice):
    months: Annotated[int, Field(ge=1, le=60)] = 6
    # Hillingdon: "6 months of intervention, or most recent referral, whichever is sooner".
    or_since_latest_referral: bool = False


class Selection(_Choice):
    by: Annotated[list[Role], Field(min_length=1)]
    method: Literal["random", "chosen"] = "chosen"
    weeks_after_kloe: Annotated[int, Field(ge=0, le=12)] = 1
    lookback: Lookback = Lookback()


class Audit(_Choice):
    """How an audit is done: with the practitioner, or at a desk from the record."""

    with_practitioner: bool = True
    practitioner_section: bool = True
    family_feedback: bool = True


class Sample(_Choice):
    """A share of a cycle's audits, drawn reproducibly when they are submitted."""

    percent: Annotated[int, Field(ge=1, le=100)] | None = None
    per_cycle: Annotated[int, Field(ge=1, le=500)] | None = None
    # Audits below this grade are always in the sample.
    always_below: Grade | None = None


class NoModeration(_Choice):
    mode: Literal["none"]


class EveryAudit(_Choice):
    """Each audit moderated by its own named moderator."""

    mode: Literal["every_audit"]
    by: list[Role] = [Role.MODERATOR]


class SampleModeration(_Choice):
    mode: Literal["sample"]
    sample: Sample
    by: Annotated[list[Role], Field(min_length=1)]
    findings_to: list[Role] = Field(default_factory=list)


class GroupModeration(_Choice):
    """A group that moderates a cycle's audits together, in a meeting."""

    mode: Literal["group"]
    members: Annotated[list[Role], Field(min_length=1)]
    meeting_minutes: Annotated[int, Field(ge=15, le=480)] = 120
    # An outside check of a sample of the group's moderated audits, e.g. "twice a year, by
    # an external consultant": in months spread evenly from January (twice: January and
    # July), each looking back over the months since the last.
    external_check_times_a_year: Literal[0, 1, 2, 3, 4, 6, 12] = 0
    external_check_by: list[Role] = [Role.EXTERNAL_CONSULTANT]
    external_check_sample: Annotated[int, Field(ge=1, le=50)] = 6
    # Whom the checker's findings are for, beyond the Audit Team (a board, named in words).
    external_check_findings_to: Annotated[str, Field(max_length=160)] = "the Audit Team"

    def external_check_months(self) -> tuple[int, ...]:
        """The months (1 to 12) in which the external check falls, none when there is none."""
        if not self.external_check_times_a_year:
            return ()
        spread = 12 // self.external_check_times_a_year
        return tuple(range(1, 13, spread))


class ExternalModeration(_Choice):
    """An external, independent moderator with a guest account sees only their audits."""

    mode: Literal["external"]
    by: list[Role] = [Role.EXTERNAL_MODERATOR]


class Panel(_Choice):
    chair: Role
    members: Annotated[list[Role], Field(min_length=1)]
    meeting_minutes: Annotated[int, Field(ge=15, le=480)] = 90
    with_reviewer: bool = True
    # A member whose own review is moderated does not sit for it.
    members_stand_aside_on_own_reviews: bool = True
    # Which tier-one moderated audits go on to the panel: all, a sample, or those the
    # tier-one moderator chooses.
    reviews: Sample | Literal["all", "chosen"] = "all"


class PanelModeration(_Choice):
    """Two tiers: a first moderator for every audit, then a panel whose chair decides."""

    mode: Literal["panel"]
    tier_one_by: Annotated[list[Role], Field(min_length=1)]
    panel: Panel


AnyModeration = (
    NoModeration
    | EveryAudit
    | SampleModeration
    | GroupModeration
    | ExternalModeration
    | PanelModeration
)
Moderation = Annotated[AnyModeration, Field(discriminator="mode")]

# How audits are moderated when no programme file is in force: Tower Hamlets Early Help's way.
EVERY_AUDIT_MODERATED = EveryAudit(mode="every_audit")


def named_moderator_roles(moderation: AnyModeration) -> tuple[Role, ...] | None:
    """The roles each audit's named moderator is chosen from at allocation, or None when
    the programme names nobody then (a sample is drawn at submission; no moderation).

    A group that moderates in a meeting names nobody: any member records the group's
    moderation of each audit.
    """
    if isinstance(moderation, EveryAudit | ExternalModeration):
        return tuple(moderation.by)
    if isinstance(moderation, PanelModeration):
        return tuple(moderation.tier_one_by)
    return None


class Disputes(_Choice):
    """Who hears a practitioner's disagreement with a moderated grade, in order."""

    route: Literal["moderator_then_hos_and_audit_team", "panel_chair", "none"]


class FollowUp(_Choice):
    """What follows a moderated audit."""

    meeting: Literal["every_audit", "below_good", "none", "part_b"]
    # part_b: the practitioner and team manager complete part B at the next supervision,
    # or within this many working days when safeguarding actions were found.
    part_b_supervision_working_days: Annotated[int, Field(ge=1, le=60)] = 20
    part_b_safeguarding_working_days: Annotated[int, Field(ge=1, le=20)] = 2
    record_to: list[Role] = Field(default_factory=list)

    def needs_meeting(self, grade: Grade) -> bool:
        """Whether an audit with this final grade gets a follow-up (UoPP) meeting."""
        if self.meeting == "every_audit":
            return True
        if self.meeting == "below_good":
            return grade.rank < Grade.GOOD.rank
        return False


# What follows moderation when no programme file is in force: Tower Hamlets Early Help's.
EVERY_AUDIT_MEETS = FollowUp(meeting="every_audit")


class Inadequate(_Choice):
    # Tower Hamlets Early Help's fast path: moderation in a day, urgent issues in two,
    # the meeting in three, weekly reports until Good.
    fast_path: bool = False
    # Who is told at once of a serious safeguarding concern or of discrimination.
    escalate_to: list[Role] = Field(default_factory=list)


# What happens to Inadequate work when no programme file is in force: Tower Hamlets Early
# Help's fast path, telling the five people it names.
FAST_PATH = Inadequate(
    fast_path=True,
    escalate_to=[
        Role.PRACTITIONER,
        Role.TEAM_MANAGER,
        Role.COORDINATOR,
        Role.AUDIT_MANAGER,
        Role.HEAD_OF_SERVICE,
    ],
)


class Reaudit(_Choice):
    """What follows up work below Good: a dip audit of each, a re-audit of a sample of each
    cycle's, and escalation when it has not improved."""

    # A dip audit (a task for the Audit Team) `dip_audit_weeks` after work of these grades.
    dip_audit: bool = False
    dip_grades: list[Grade] = Field(default_factory=list)
    # A seeded sample of each cycle's below-Good work re-audited `reaudit_months` on, in a
    # cycle of its own: `fraction` of it, or the rules' `reaudit_fraction` when not given.
    sample: bool = False
    fraction: Annotated[float, Field(gt=0, le=1)] | None = None
    all_if_not_improved: bool = False
    # Work still below Good `escalation_months` on, with no later audit at Good, is
    # escalated to these (none: not escalated).
    escalate_to: list[Role] = Field(default_factory=list)
    report_to: str = ""


# What follows up work below Good when no programme file is in force: Tower Hamlets Early
# Help's dip audits, re-audit sample and escalation to the Divisional Director.
EARLY_HELP_REAUDIT = Reaudit(
    dip_audit=True,
    dip_grades=[Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE],
    sample=True,
    all_if_not_improved=True,
    escalate_to=[Role.DIVISIONAL_DIRECTOR],
)


class Escalation(_Choice):
    """Who late work is taken to, in order: copied at the reminder ladder's second rung, told
    at its third. `team_manager` is the owner's own line manager; any other role is whoever
    holds it in the audit's service."""

    route: Annotated[list[Role], Field(min_length=1, max_length=2)] = [
        Role.TEAM_MANAGER,
        Role.HEAD_OF_SERVICE,
    ]


class Report(_Choice):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    every: Literal["week", "month", "two_months", "quarter", "year", "cycle"]
    to: list[Role] = Field(default_factory=list)
    # Readers outside auditbot (a board), named for the report's heading.
    board: str = ""


class Programme(_Choice):
    """A council's whole audit programme."""

    programme: About
    rules: dict[str, object] = Field(default_factory=dict)
    services: Annotated[list[Service], Field(min_length=1)]
    timetable: Timetable
    kloes: Kloes = Kloes()
    selection: Selection
    audit: Audit = Audit()
    moderation: Moderation
    # Moderation for some services only, by service code (Tower Hamlets: YJS external).
    moderation_by_service: dict[str, Moderation] = Field(default_factory=dict)
    disputes: Disputes
    follow_up: FollowUp
    follow_up_by_service: dict[str, FollowUp] = Field(default_factory=dict)
    inadequate: Inadequate = Inadequate()
    reaudit: Reaudit = Reaudit()
    escalation: Escalation = Escalation()
    reports: list[Report] = Field(default_factory=list)

    def service(self, code: str) -> Service:
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)

    def moderation_for(
        self, code: str
    ) -> (
        NoModeration
        | EveryAudit
        | SampleModeration
        | (GroupModeration | ExternalModeration | PanelModeration)
    ):
        return self.moderation_by_service.get(code, self.moderation)

    def follow_up_for(self, code: str) -> FollowUp:
        return self.follow_up_by_service.get(code, self.follow_up)
