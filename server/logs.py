"""Logging: plain lines for a person at a terminal, or one JSON object per line for a
deployment's log collector (``BILIN_LOG_FORMAT=json``).

Every record carries the worker's id, and the hearing and participant ids bound to the code
that logged it (:func:`bind`). Nothing personal: resident ID numbers and link tokens are
masked in every message, whatever logged it, and names are never bound.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator

# Per task (contextvars), not per process: each event handler sees its own ids.
_CONTEXT: contextvars.ContextVar[tuple[tuple[str, int | str], ...]] = contextvars.ContextVar(
    "bilin_log_context", default=()
)
# 18-character resident ID numbers, and the tokens of invitation and party links.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_LINK_TOKEN = re.compile(r"/(join|p)/[A-Za-z0-9_-]{16,}")


@contextlib.contextmanager
def bind(**ids: int | str) -> Iterator[None]:
    """Attach ids (hearing, participant, session …) to every record logged inside."""
    token = _CONTEXT.set(tuple({**dict(_CONTEXT.get()), **ids}.items()))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def scrub(text: str) -> str:
    """``text`` with ID numbers masked and link tokens removed."""
    text = _ID_NUMBER.sub(r"\1********\2", text)
    return _LINK_TOKEN.sub(r"/\1/***", text)


class ContextFilter(logging.Filter):
    """Adds the worker id and the bound ids to each record, and scrubs its message."""

    def __init__(self, worker_id: str) -> None:
        super().__init__()
        self.worker_id = worker_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self.worker_id
        record.context = dict(_CONTEXT.get())
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, worker, bound ids."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "worker": getattr(record, "worker", ""),
        }
        data.update(getattr(record, "context", {}))
        if record.exc_info:
            data["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The usual line, with the bound ids appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = getattr(record, "context", {})
        if context:
            line += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        return line


def configure_logging(worker_id: str, *, json_lines: bool, verbose: bool) -> None:
    """Set up the root logger for ``bilin`` commands."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter(worker_id))
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
