"""Per-hearing live state: who holds which seat, where they are, and what each one may see.

The seats come from the database (``hearing_participants``); locations, hands, media flags and
quality marks live here, in the process that runs the hearing's media. A seat remembers its
location across a dropped connection, which is how a reload returns to the same room.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from server.hearings.vocabulary import HearingKind, ParticipantRole
from server.i18n import Translator

WAITING = "waiting"
MAIN = "main"
CAUCUS_PREFIX = "caucus-"

Quality = Literal["good", "fair", "poor"]
Consent = Literal["given", "declined"]


def is_moderator(role: ParticipantRole, kind: HearingKind) -> bool:
    """Mediators run every hearing; the judge also runs a confirmation hearing."""
    if role in (ParticipantRole.MEDIATOR, ParticipantRole.CO_MEDIATOR):
        return True
    return role == ParticipantRole.JUDGE and kind == HearingKind.CONFIRMATION_HEARING


@dataclass
class Seat:
    """One participant of a live hearing."""

    id: int
    name: str
    role: ParticipantRole
    moderator: bool
    location: str = WAITING
    # The socket.io connection holding the seat (after its ``hello``), if any.
    sid: str | None = None
    audio: bool = True
    video: bool = True
    screen: bool = False
    hand: bool = False
    speaking: bool = False
    quality: Quality | None = None
    identity_declared: bool = False
    identity_checked: bool = False
    consent: Consent | None = None
    do_not_record: bool = False

    @property
    def connected(self) -> bool:
        """Whether someone is in the hearing on this seat now."""
        return self.sid is not None

    @property
    def entry_location(self) -> str:
        """Where the seat goes when it comes in fresh (not returning from a drop)."""
        return MAIN if self.moderator else WAITING

    def reset_presence(self) -> None:
        """Forget what only makes sense while connected."""
        self.sid = None
        self.hand = False
        self.speaking = False
        self.quality = None


@dataclass
class LiveHearing:
    """The live state of one hearing."""

    id: int
    case_id: int
    title: str
    kind: HearingKind
    seats: dict[int, Seat] = field(default_factory=dict)
    # Open caucus rooms: id -> label, in opening order.
    caucus_rooms: dict[str, str] = field(default_factory=dict)
    next_caucus: int = 1
    # Membership changes (joins, moves, removals) of one hearing happen one at a time.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    empty_since: float | None = None

    def locations(self) -> set[str]:
        """Every location someone may be in now."""
        return {WAITING, MAIN, *self.caucus_rooms}

    def connected(self) -> list[Seat]:
        """Seats with someone on them."""
        return [s for s in self.seats.values() if s.connected]

    def open_caucus(self, label: str) -> str:
        """Open a caucus room; returns its id."""
        room = f"{CAUCUS_PREFIX}{self.next_caucus}"
        self.next_caucus += 1
        self.caucus_rooms[room] = label
        return room

    # -- what each seat sees ---------------------------------------------------------------

    def view(self, seat: Seat, t: Translator) -> dict[str, Any]:
        """The ``state`` event for ``seat`` (see docs/protocol.md)."""
        rooms = [{"id": MAIN, "label": t("signaling.main_room")}] + [
            {"id": room, "label": label} for room, label in self.caucus_rooms.items()
        ]
        if seat.moderator:
            participants = [self._participant(s, full=True) for s in self.seats.values()]
            waiting: list[int] | None = [
                s.id for s in self.seats.values() if s.connected and s.location == WAITING
            ]
        else:
            if seat.location == WAITING:
                visible = [seat]
                rooms = []
            else:
                visible = [
                    s for s in self.seats.values() if s.connected and s.location == seat.location
                ]
                rooms = [r for r in rooms if r["id"] == seat.location]
            participants = [self._participant(s, full=False) for s in visible]
            waiting = None
        state: dict[str, Any] = {
            "hearing": {"id": self.id, "title": self.title, "kind": str(self.kind)},
            "location": seat.location,
            "rooms": rooms,
            "participants": participants,
            "moderators": [
                {"id": s.id, "name": s.name, "role": str(s.role), "connected": s.connected}
                for s in self.seats.values()
                if s.moderator
            ],
        }
        if waiting is not None:
            state["waiting"] = waiting
        return state

    @staticmethod
    def _participant(seat: Seat, *, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": seat.id,
            "name": seat.name,
            "role": str(seat.role),
            "moderator": seat.moderator,
            "location": seat.location,
            "connected": seat.connected,
            "audio": seat.audio,
            "video": seat.video,
            "screen": seat.screen,
            "hand": seat.hand,
            "speaking": seat.speaking,
            "quality": seat.quality,
        }
        if full:
            out["identity_declared"] = seat.identity_declared
            out["identity_checked"] = seat.identity_checked
            out["consent"] = seat.consent
            out["do_not_record"] = seat.do_not_record
        return out

    def me(self, seat: Seat) -> dict[str, Any]:
        """The ``you`` part of the ``hello`` ack."""
        return {
            "participant_id": seat.id,
            "name": seat.name,
            "role": str(seat.role),
            "moderator": seat.moderator,
            "hearing_id": self.id,
            "case_id": self.case_id,
        }
