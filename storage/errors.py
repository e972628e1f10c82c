"""Errors the storage layer raises for callers to act on."""


class NotFound(LookupError):
    """The record asked for does not exist."""

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key} not found")
        self.entity = entity
        self.key = key


class StaleRecord(Exception):
    """The record changed since the caller read it (a stale card, a concurrent write)."""

    def __init__(self, entity: str, key: object, expected: int, actual: int) -> None:
        super().__init__(f"{entity} {key} is at version {actual}, not {expected}")
        self.entity = entity
        self.key = key
        self.expected = expected
        self.actual = actual


class LiveAuditExists(Exception):
    """The case already has a live audit in this cycle; reallocate it instead."""

    def __init__(self, cycle_id: int, case_id: int, audit_id: int) -> None:
        super().__init__(f"case {case_id} already has live audit {audit_id} in cycle {cycle_id}")
        self.audit_id = audit_id


class DatabaseUnavailable(Exception):
    """The database cannot be used: unreachable, refused, not a database, or damaged. The
    message is one line saying what is wrong and what to do, and never holds a password."""


class ImportFileError(Exception):
    """A file to import cannot be read as CSV text at all; the message says why and what to
    do, and nothing was loaded."""
