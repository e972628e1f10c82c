"""Scheduled jobs: the reminder tick, escalations and weekly digests (issue 6)."""
