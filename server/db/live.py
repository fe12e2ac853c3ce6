"""What a live hearing keeps on the case: the chat of its rooms."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime, utcnow


class HearingChatMessage(Base):
    """One chat message in a live hearing, with the room it was said in (the main room or a
    caucus room): a caucus room's chat belongs to that room only. Append-only."""

    __tablename__ = "hearing_chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_hearing_chat_messages_participant")
    )
    # "main" or "caucus-<n>".
    location: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    # A room's history is read newest first when someone (re)joins it.
    __table_args__ = (Index("ix_hearing_chat_messages_room", "hearing_id", "location", "id"),)
