"""A person accepts a machine-drafted transcript line, as it is or after correcting its text.
Accepted lines are never replaced by a later machine run."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from recording.vocabulary import TranscriptStatus
from server.auth.principal import StaffPrincipal
from server.db.base import utcnow
from server.db.transcript import TranscriptLine
from server.vocabulary import Role

# Who may correct and accept transcript lines (judges and liaisons read them).
EDITOR_ROLES = (
    Role.MEDIATOR,
    Role.INTAKE_CLERK,
    Role.SUPERVISOR,
    Role.ADMINISTRATOR,
    Role.COURT_CLERK,
)
MAX_TEXT = 4000


async def accept_line(
    db: AsyncSession, who: StaffPrincipal, line: TranscriptLine, text: str | None = None
) -> TranscriptLine:
    """Mark ``line`` accepted by ``who`` now, with ``text`` replacing the draft's words when
    given. The caller has checked access and commits."""
    if text is not None:
        line.text = text.strip()
    line.status = TranscriptStatus.ACCEPTED
    line.accepted_by_id = who.staff_id
    line.accepted_at = utcnow()
    await db.flush()
    return line
