"""What happens to one audit under its programme, in the words an allocation card uses.

The practitioner's card says what comes next for their audit, the auditor's how far back
to look and whether to meet the practitioner: each from the programme the audit's cycle
runs under, so a council's card never promises a stage its programme does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.programme.model import (
    EVERY_AUDIT_MEETS,
    EVERY_AUDIT_MODERATED,
    AnyModeration,
    FollowUp,
    GroupModeration,
    Lookback,
    NoModeration,
    PanelModeration,
    SampleModeration,
)


@dataclass(frozen=True)
class AuditPath:
    """The stages one audit goes through after it is done, by its programme."""

    lookback: Lookback = Lookback()
    moderation: AnyModeration = EVERY_AUDIT_MODERATED
    follow_up: FollowUp = EVERY_AUDIT_MEETS

    @property
    def period(self) -> str:
        """The work the audit looks at: "the last 6 months of work", "... or since ..."."""
        months = self.lookback.months
        words = f"the last {months} month{'s' if months != 1 else ''} of work"
        if self.lookback.or_since_latest_referral:
            words += ", or since the latest referral if that is sooner"
        return words

    def after_audit(self) -> list[str]:
        """What happens once the auditor submits, a line per stage."""
        return [self._moderated(), self._followed_up()]

    def _moderated(self) -> str:
        moderation = self.moderation
        if isinstance(moderation, NoModeration):
            return "The audit is not moderated: the auditor's grade stands, and you'll see it."
        if isinstance(moderation, SampleModeration):
            return (
                "A sample of audits is moderated; yours may be drawn. Either way you'll see "
                "the grades and can discuss them."
            )
        if isinstance(moderation, GroupModeration):
            return (
                "The moderation group moderates it at its meeting, and you'll see the grades "
                "and can discuss them."
            )
        if isinstance(moderation, PanelModeration):
            return (
                "The audit is moderated, and may go on to the moderation panel; you'll see "
                "the grades and can discuss them."
            )
        return "The audit is moderated, and you'll see the grades and can discuss them."

    def _followed_up(self) -> str:
        follow_up = self.follow_up
        if follow_up.meeting == "every_audit":
            return "A follow-up meeting agrees what to do next."
        if follow_up.meeting == "below_good":
            return "If the work is graded below Good, a follow-up meeting agrees what to do next."
        if follow_up.meeting == "part_b":
            return (
                "You and your team manager complete part B of the audit at your next "
                "supervision, or sooner if immediate safeguarding actions were found."
            )
        return "Its recommendations are tracked until they are done."
