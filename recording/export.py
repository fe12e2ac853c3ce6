"""Evidence packages of recording sessions (work in progress)."""

from __future__ import annotations

from server.jobs.runner import JobRunner

EXPORT_JOB = "export"


def register_export_jobs(runner: JobRunner) -> None:
    """Register the export job kind with ``runner``."""
