"""What a job looks like to the people waiting for it, and who may see it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope
from server.auth.principal import StaffPrincipal
from server.db.job import Job
from server.errors import NotFound
from server.i18n import Translator
from server.jobs.vocabulary import JobStatus


class JobOut(BaseModel):
    """A job's state for a progress bar (``GET /api/jobs/{id}``)."""

    id: int
    kind: str
    status: JobStatus
    progress: float = Field(description="0..1")
    message: str = Field(description="i18n key of what is happening (or why it failed)")
    message_text: str = Field(description="the message in the caller's language")
    finished: bool = Field(description="done or failed: stop polling")
    result: dict[str, Any] = Field(
        default_factory=dict, description="the handler's result (when done)"
    )


async def job_in_scope(db: AsyncSession, who: StaffPrincipal, job_id: int) -> Job:
    """The job if ``who`` may follow it: its case is in their scope (a job without a case:
    only whoever queued it); otherwise :class:`NotFound`."""
    job = await db.get(Job, job_id)
    if job is None:
        raise NotFound()
    if job.case_id is not None:
        await case_in_scope(db, who, job.case_id)
    elif job.created_by_id != who.staff_id:
        raise NotFound()
    return job


def job_out(job: Job, translate: Translator) -> JobOut:
    """The public view of ``job``; a failure shows its message key, never internals."""
    result: dict[str, Any] = {}
    if job.status == JobStatus.DONE:
        try:
            loaded = json.loads(job.result or "{}")
        except ValueError:
            loaded = {}
        result = loaded if isinstance(loaded, dict) else {}
    message = job.message or ""
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=round(float(job.progress or 0.0), 4),
        message=message,
        message_text=translate(message) if message else "",
        finished=job.status in (JobStatus.DONE, JobStatus.FAILED),
        result=result,
    )
