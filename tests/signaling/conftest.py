"""Fixtures for the media plane: pre-encoded clips (once per run) and a running worker
whose renegotiation events are answered by synthetic aiortc clients, the way the
signalling layer will answer them for browsers."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from signaling.media import MAIN_ROOM, MediaConfig, MediaEvents, MediaWorker, Participant, Room
from signaling.media.model import TrackInfo
from signaling.media.synthetic import (
    EncodedClip,
    SyntheticParticipant,
    encode_audio,
    encode_video,
)

logger = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def video_clip() -> EncodedClip:
    """Two seconds of 320x180 VP8 at 15 fps, a keyframe each second."""
    return encode_video(320, 180, fps=15, seconds=2, bitrate=250_000, keyframe_interval=15)


@pytest.fixture(scope="session")
def h264_clip() -> EncodedClip:
    """Two seconds of 320x180 constrained-baseline H264 (what Safari sends)."""
    return encode_video(
        320, 180, fps=15, seconds=2, bitrate=250_000, keyframe_interval=15, codec="libx264"
    )


@pytest.fixture(scope="session")
def audio_clip() -> EncodedClip:
    """Two seconds of Opus."""
    return encode_audio(seconds=2)


class Signalling(MediaEvents):
    """Stands in for the socket.io layer: answers every renegotiation with a client."""

    def __init__(self) -> None:
        self.worker: MediaWorker | None = None
        self.clients: dict[str, SyntheticParticipant] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []
        self.negotiations: Counter[str] = Counter()
        self.published: list[TrackInfo] = []
        self.unpublished: list[TrackInfo] = []
        self.states: list[tuple[str, str, str]] = []
        self.changed = asyncio.Event()

    def renegotiation_needed(self, room_id: str, participant_id: str) -> None:
        task = asyncio.create_task(self._negotiate(room_id, participant_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def track_published(self, room_id: str, track: TrackInfo) -> None:
        self.published.append(track)

    def track_unpublished(self, room_id: str, track: TrackInfo) -> None:
        self.unpublished.append(track)

    def connection_state(
        self, room_id: str, participant_id: str, connection: str, state: str
    ) -> None:
        self.states.append((participant_id, connection, state))
        self.changed.set()

    async def _negotiate(self, room_id: str, participant_id: str) -> None:
        try:
            assert self.worker is not None
            room = self.worker.get_room(room_id)
            client = self.clients.get(participant_id)
            if room is None or client is None:
                return
            participant = room.participant(participant_id)
            offer = await participant.subscribe_offer()
            if offer is not None:
                await participant.subscribe_answer(await client.answer(offer))
                self.negotiations[participant_id] += 1
                self.changed.set()
        except Exception as exc:
            logger.exception("negotiation failed")
            self.errors.append(exc)

    async def settle(self) -> None:
        """Wait until no negotiation is running."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


class Media:
    """A worker, its signalling stand-in, and helpers to add synthetic participants."""

    def __init__(
        self,
        worker: MediaWorker,
        signalling: Signalling,
        video: EncodedClip,
        audio: EncodedClip,
    ) -> None:
        self.worker = worker
        self.signalling = signalling
        self.video = video
        self.audio = audio

    async def join(
        self,
        room: Room,
        name: str,
        location: str | None = MAIN_ROOM,
        *,
        decode: bool = False,
        publish: bool = True,
        drop_outgoing: Callable[[int], bool] | None = None,
        drop_incoming: Callable[[int], bool] | None = None,
        video: EncodedClip | None = None,
        video_codec: str = "video/VP8",
    ) -> tuple[Participant, SyntheticParticipant]:
        client = SyntheticParticipant(
            name,
            (video or self.video) if publish else None,
            self.audio if publish else None,
            decode=decode,
            drop_outgoing=drop_outgoing,
            drop_incoming=drop_incoming,
            video_codec=video_codec,
        )
        self.signalling.clients[name] = client
        participant = room.join(name, "party", name.title(), location)
        if publish:
            answer = await participant.publish_answer(await client.publish_offer())
            await client.publish_done(answer)
        return participant, client


async def until(
    predicate: Callable[[], bool], *events: asyncio.Event, within: float = 10.0
) -> None:
    """Wait, woken by ``events``, until ``predicate()`` holds; fail after ``within`` s."""
    async with asyncio.timeout(within):
        while not predicate():
            waiters = [asyncio.ensure_future(e.wait()) for e in events]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            for event in events:
                event.clear()


@pytest.fixture
async def media(video_clip: EncodedClip, audio_clip: EncodedClip) -> AsyncIterator[Media]:
    signalling = Signalling()
    worker = MediaWorker(MediaConfig(report_interval=0.5), signalling)
    signalling.worker = worker
    await worker.start()
    harness = Media(worker, signalling, video_clip, audio_clip)
    try:
        yield harness
    finally:
        await signalling.settle()
        await worker.stop()
        await asyncio.gather(*(c.close() for c in signalling.clients.values()))
    assert not signalling.errors, signalling.errors
