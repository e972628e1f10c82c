"""Logging: lines a person reads, or JSON lines for a council's log store, each carrying the ids
of what was being handled (the request, the activity, the audit, the outbox messages, the
scheduled job) and never content: no names, no answers, no card text, no SQL parameters.

`log_context(audit_id=..., ...)` binds ids for the code it wraps (a request, a delivery, a job);
every line logged inside carries them, as fields in JSON and as `key=value` after the message
in text. The ids live in a context variable, so tasks started inside inherit them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

IdValue = str | int | list[int]
_ids: ContextVar[dict[str, IdValue] | None] = ContextVar("auditbot_log_ids", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s%(ids)s"
JSON_FIELDS = ["levelname", "process", "name", "message"]
JSON_NAMES = {"levelname": "level", "name": "logger", "process": "pid"}


@contextmanager
def log_context(**ids: IdValue | None) -> Iterator[None]:
    """Bind these ids (None ones are left out) to every line logged inside."""
    bound = {
        **(_ids.get() or {}),
        **{key: value for key, value in ids.items() if value is not None},
    }
    token = _ids.set(bound)
    try:
        yield
    finally:
        _ids.reset(token)


def current_ids() -> dict[str, IdValue]:
    return dict(_ids.get() or {})


class _WithIds(logging.Filter):
    """Put the bound ids on each record: as attributes (JSON fields) and as `ids` (text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _ids.get() or {}
        for key, value in ids.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        record.ids = "".join(f" {key}={_plain(value)}" for key, value in ids.items())
        return True


def _plain(value: IdValue) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def configure_logging(level: str, style: Literal["text", "json"] = "text") -> None:
    """One handler on the root logger, to stderr, at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_WithIds())
    formatter: logging.Formatter
    if style == "json":
        from pythonjsonlogger.json import JsonFormatter

        formatter = JsonFormatter(
            JSON_FIELDS,
            rename_fields=JSON_NAMES,
            reserved_attrs=[*_reserved(), "ids"],
            json_ensure_ascii=False,
            timestamp="time",  # ISO 8601, UTC
        )
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every run of every job at INFO (eight lines a minute); our jobs log
    # what they did themselves (scheduler.engine), so keep only its warnings.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


def _reserved() -> list[str]:
    from pythonjsonlogger.core import RESERVED_ATTRS

    return list(RESERVED_ATTRS)
