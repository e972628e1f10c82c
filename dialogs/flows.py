"""Importing this module declares every card action, so the dispatcher knows them all."""

from dialogs import cycle_form, exemptions, kloes

__all__ = ["cycle_form", "exemptions", "kloes"]
