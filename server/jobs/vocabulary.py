"""Background job states."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """A background job's state."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
