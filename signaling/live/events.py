"""Pydantic models of every client → server event (``docs/protocol.md``).

Unknown fields are refused everywhere: a client that sends a field the server does not know
is wrong about the protocol, and guessing what it meant is how spoofing gets in. Nothing in a
payload names the sender; ``participant_id`` always names the target of a moderator action.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from server.hearings.vocabulary import IdentityMethod, IdentityOutcome

# A browser's offer is 5-12 KB; engine.io refuses any message over 16 KiB anyway.
MAX_SDP = 16 * 1024
MAX_CHAT = 1000
MAX_LABEL = 40

ParticipantId = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Location = Annotated[
    str, Field(min_length=1, max_length=16, pattern=r"^(waiting|main|caucus-\d{1,4})$")
]
Sdp = Annotated[str, Field(min_length=1, max_length=MAX_SDP)]
MediaLabel = Literal["audio", "video", "screen"]


class Event(BaseModel):
    """Base of every event payload: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Hello(Event):
    """First event after connecting."""


class Publish(Event):
    """The browser's offer for its publish connection (first offer or a re-offer)."""

    sdp: Sdp
    labels: dict[Annotated[str, Field(max_length=32)], MediaLabel] | None = Field(
        default=None, max_length=8
    )


class SubscribeAnswer(Event):
    """The browser's answer to the last ``subscribe_offer``."""

    sdp: Sdp


class MediaState(Event):
    """The sender's own microphone, camera and screen state."""

    audio: StrictBool
    video: StrictBool
    screen: StrictBool


class Hand(Event):
    """Raise or lower one's hand."""

    raised: StrictBool


class Speaking(Event):
    """The sender's own voice activity."""

    active: StrictBool


class Chat(Event):
    """A chat message to the sender's current location."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_CHAT)]

    @model_validator(mode="after")
    def _not_blank(self) -> Chat:
        if not self.text.strip():
            raise ValueError("blank message")
        return self


class Admit(Event):
    """Let one person, or everyone waiting, into the main room."""

    participant_id: ParticipantId | None = None
    all: StrictBool = False

    @model_validator(mode="after")
    def _one_or_all(self) -> Admit:
        if (self.participant_id is None) == (not self.all):
            raise ValueError("either participant_id or all")
        return self


class Target(Event):
    """A moderator action on one participant."""

    participant_id: ParticipantId


class SendToWaiting(Target):
    """Send someone back to the waiting room."""


class Remove(Target):
    """Remove someone from the hearing (their link stays valid unless revoked)."""


class Mute(Event):
    """Ask one participant (or everyone, ``null``) to mute."""

    participant_id: ParticipantId | None
    kind: Literal["audio", "video"]


class OpenCaucus(Event):
    """Open a caucus room (背对背)."""

    label: Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]


class CloseCaucus(Event):
    """Close a caucus room; its occupants go back to the main room."""

    room: Location


class Move(Event):
    """Move someone (or oneself) between the main room, caucus rooms and the waiting room."""

    participant_id: ParticipantId
    room: Location


class ConfirmIdentity(Event):
    """Record the check of a participant's declared identity, made on camera."""

    participant_id: ParticipantId
    method: Literal["video"] | IdentityMethod = "video"
    outcome: IdentityOutcome = IdentityOutcome.CONFIRMED
    note: Annotated[str, Field(max_length=500)] = ""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _strict_id(cls, data: object) -> object:
        # Enums need lax mode to parse from strings; the id must still be a real integer.
        if isinstance(data, dict) and type(data.get("participant_id", 0)) is not int:
            raise ValueError("participant_id must be an integer")
        return data


class Leave(Event):
    """Leave the hearing."""


class RecordingStart(Event):
    """Start recording the hearing (a new recording session)."""


class RecordingPause(Event):
    """Pause the recording: nothing is written until it resumes."""


class RecordingResume(Event):
    """Resume a paused recording."""


class RecordingStop(Event):
    """Stop recording: every file is closed and the session sealed."""


EVENTS: dict[str, type[Event]] = {
    "hello": Hello,
    "publish": Publish,
    "subscribe_answer": SubscribeAnswer,
    "media_state": MediaState,
    "hand": Hand,
    "speaking": Speaking,
    "chat": Chat,
    "admit": Admit,
    "send_to_waiting": SendToWaiting,
    "remove": Remove,
    "mute": Mute,
    "open_caucus": OpenCaucus,
    "close_caucus": CloseCaucus,
    "move": Move,
    "confirm_identity": ConfirmIdentity,
    "leave": Leave,
    "recording_start": RecordingStart,
    "recording_pause": RecordingPause,
    "recording_resume": RecordingResume,
    "recording_stop": RecordingStop,
}
"""Every event a client may send, and its payload model."""

MODERATOR_EVENTS = frozenset(
    {
        "admit",
        "send_to_waiting",
        "remove",
        "mute",
        "open_caucus",
        "close_caucus",
        "move",
        "confirm_identity",
        "recording_start",
        "recording_pause",
        "recording_resume",
        "recording_stop",
    }
)
"""Events only a moderator may send."""
