"""What operations see of auditbot: log lines (text or JSON) carrying ids, never content.

Imports nothing of auditbot's own, so every layer may use it.
"""
