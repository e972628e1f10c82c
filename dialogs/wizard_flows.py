"""Importing this declares the audit wizard's card actions, and those of what it starts: the
practitioner's own section and the Audit Team's completeness check."""

from dialogs import completeness, practitioner, wizard, wizard_submit

__all__ = ["completeness", "practitioner", "wizard", "wizard_submit"]
