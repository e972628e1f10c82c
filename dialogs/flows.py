"""Importing this module declares every card action, so the dispatcher knows them all."""

from dialogs import exemptions, kloes

__all__ = ["exemptions", "kloes"]
