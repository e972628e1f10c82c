"""Importing this module declares every card action, so the dispatcher knows them all."""

import dialogs.acknowledgements  # noqa: F401 ("I've seen this" on an allocation notice)
import dialogs.action_owners  # noqa: F401 (owners for service-level actions)
import dialogs.digest  # noqa: F401 (the weekly digest's buttons open decision cards)
import dialogs.external_check  # noqa: F401 (the external checker records findings)
import dialogs.panel_decision  # noqa: F401 (the moderation panel's chair records its decision)
import dialogs.panel_request  # noqa: F401 (a disagreement taken to the panel, City of London)
import dialogs.part_b  # noqa: F401 (part B at supervision, recorded by practitioner or TM)
import dialogs.progress_reports  # noqa: F401 (the coordinator's weekly report on Inadequate work)
import dialogs.reaudit  # noqa: F401 (the Audit Team re-audits the rest of unimproved work)
import dialogs.reminders  # noqa: F401 (reminder snooze, action progress)
import dialogs.uopp_options  # noqa: F401 (the organiser's options, the Audit Team's extension)
import dialogs.uopp_record  # noqa: F401 (the chair records the UoPP meeting)
import dialogs.wizard_flows  # noqa: F401 (the audit wizard, practitioner and completeness)
from dialogs import cycle_form, disputes, escalations, exemptions, kloes, moderation  # noqa: F401

__all__ = ["cycle_form", "exemptions", "kloes"]
