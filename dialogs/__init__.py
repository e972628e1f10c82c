"""Conversations: what auditbot says and does in reply to people.

Platform-neutral at the edges: callers pass an `Actor` and text or card
data, and get back a `Reply`. `bot/` turns Teams activities into these calls.
"""
