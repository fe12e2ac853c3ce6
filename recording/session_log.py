"""The session clock and the session's timeline (``recording_events`` rows).

The session clock counts milliseconds from the session's ``started_at``; every timeline entry
carries both that offset and the wall clock, and every track file is written on the same clock,
so an event lines up with the media a reviewer sees.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from recording.vocabulary import RecordingEventKind
from server.db.base import utcnow
from server.db.recording import RecordingEvent


@dataclass(frozen=True)
class SessionClock:
    """Milliseconds since a recording session started."""

    origin: dt.datetime

    @property
    def epoch(self) -> float:
        """The clock's zero as wall-clock epoch seconds (what a track recorder aligns to)."""
        return self.origin.timestamp()

    def offset_ms(self, at: dt.datetime | None = None) -> int:
        """Where ``at`` (default: now) falls on the session clock."""
        at = at or utcnow()
        return max(0, round((at - self.origin).total_seconds() * 1000))


def timeline_entry(
    session_id: int,
    clock: SessionClock,
    kind: RecordingEventKind,
    *,
    participant_id: int | None = None,
    sub_room: str | None = None,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
    offset_ms: int | None = None,
) -> RecordingEvent:
    """A new timeline row (the caller adds and commits it)."""
    at = at or utcnow()
    return RecordingEvent(
        session_id=session_id,
        kind=kind,
        at=at,
        offset_ms=clock.offset_ms(at) if offset_ms is None else offset_ms,
        participant_id=participant_id,
        sub_room=sub_room,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
    )
