"""Shared steps of the live tests: a hearing scheduled through the API, people opening their
invitation links in their own browsers (cookie jars), socket.io clients connected with those
cookies, and synthetic aiortc media driven through the protocol.

(No tests here: the helpers are imported by the ``test_live_*`` modules.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiohttp.test_utils import TestClient
from aiortc.sdp import SessionDescription

from signaling.media.model import SlotInfo, SubscribeOffer, TrackInfo
from signaling.media.synthetic import EncodedClip, SyntheticParticipant
from tests.server.test_hearings_support import (
    Scheduled,
    browser,
    open_link,
    routed_case,
    schedule,
)
from tests.world import World

logger = logging.getLogger(__name__)

Client = TestClient  # type: ignore[type-arg]
WAIT = 10.0
MEDIA_LABELS = {"audio": "microphone", "video": "camera", "screen": "screen"}


def cookie_header(jar: aiohttp.abc.AbstractCookieJar) -> str:
    """The Cookie header a browser with this jar would send."""
    return "; ".join(f"{cookie.key}={cookie.value}" for cookie in jar)


class Live:
    """A socket.io client of the ``/live`` namespace that records what it receives."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        self.changed = asyncio.Event()
        self.connect_error: Any = None
        self.disconnected = asyncio.Event()
        self.media: SyntheticParticipant | None = None
        self.offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.negotiations = 0
        self.negotiation_errors: list[Any] = []
        self._answerer: asyncio.Task[None] | None = None

        @self.sio.on("*", namespace="/live")
        async def _any(event: str, data: Any = None) -> None:
            self.received.append((event, data))
            if event == "subscribe_offer":
                self.offers.put_nowait(data)
            self.changed.set()

        @self.sio.on("connect_error", namespace="/live")
        async def _refused(data: Any) -> None:
            self.connect_error = data
            self.changed.set()

        @self.sio.on("disconnect", namespace="/live")
        async def _gone(*_: Any) -> None:
            self.disconnected.set()
            self.changed.set()

    async def connect(self, url: str, cookies: str, auth: dict[str, Any] | None = None) -> None:
        """Connect like the page does (websocket, the session cookie)."""
        await self.sio.connect(
            url,
            headers={"Cookie": cookies} if cookies else {},
            auth=auth,
            namespaces=["/live"],
            transports=["websocket"],
            wait_timeout=5,
        )

    async def call(self, event: str, *payload: Any) -> Any:
        """Send an event and return its ack."""
        return await self.sio.call(event, *payload, namespace="/live", timeout=WAIT)

    def events(self, name: str) -> list[Any]:
        """Payloads of every ``name`` event received so far."""
        return [data for event, data in self.received if event == name]

    @property
    def state(self) -> dict[str, Any]:
        """The newest ``state`` received."""
        states = self.events("state")
        assert states, f"{self.name} has no state yet"
        return states[-1]  # type: ignore[no-any-return]

    async def wait_for(
        self, predicate: Callable[[], bool], within: float = WAIT, what: str = ""
    ) -> None:
        """Wait (woken by every event) until ``predicate()`` holds."""
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: timed out waiting for {what or predicate}"
            ) from None

    async def wait_state(self, predicate: Callable[[dict[str, Any]], bool], what: str = "") -> None:
        """Wait until the newest state satisfies ``predicate``."""
        await self.wait_for(
            lambda: bool(self.events("state")) and predicate(self.state), what=what or "state"
        )

    # -- media -----------------------------------------------------------------------------

    async def start_media(self, video: EncodedClip | None, audio: EncodedClip | None) -> None:
        """Publish replayed camera and microphone (if any), answer every subscribe offer."""
        self.media = SyntheticParticipant(self.name, video, audio)
        if video is not None or audio is not None:
            ack = await self.call("publish", {"sdp": await self.media.publish_offer()})
            assert ack["ok"], ack
            await self.media.publish_done(ack["sdp"])
        self._answerer = asyncio.create_task(self._answer_offers())

    async def _answer_offers(self) -> None:
        assert self.media is not None
        while True:
            data = await self.offers.get()
            # The protocol names the publisher and label of each m-line; the codec is the
            # m-line's own (one per m-line in the server's offer).
            codecs = {
                media.rtp.muxId: media.rtp.codecs[0]
                for media in SessionDescription.parse(data["sdp"]).media
                if media.rtp.codecs
            }
            slots = []
            for mid, track in data["tracks"].items():
                label = MEDIA_LABELS[track["label"]]
                kind = "audio" if label == "microphone" else "video"
                info = TrackInfo(
                    track_id=f"{track['participant_id']}/{label}",
                    participant_id=str(track["participant_id"]),
                    label=label,  # type: ignore[arg-type]
                    kind=kind,  # type: ignore[arg-type]
                    mime_type=codecs[mid].mimeType,
                    clock_rate=codecs[mid].clockRate,
                )
                slots.append(SlotInfo(mid=mid, kind=kind, track=info))  # type: ignore[arg-type]
            try:
                answer = await self.media.answer(
                    SubscribeOffer(sdp=data["sdp"], slots=tuple(slots))
                )
                ack = await self.call("subscribe_answer", {"sdp": answer})
            except Exception as exc:  # a closed client mid-negotiation
                self.negotiation_errors.append(exc)
                continue
            if not ack["ok"]:
                self.negotiation_errors.append(ack)
            self.negotiations += 1

    def packets_from(self, participant_id: int) -> int:
        """RTP packets received from one participant's tracks."""
        if self.media is None:
            return 0
        return sum(
            n
            for track, n in self.media.packets_by_track.items()
            if track.split("/")[0] == str(participant_id)
        )

    def packets_total(self) -> int:
        """Every RTP packet the subscribe connection received."""
        if self.media is None:
            return 0
        return sum(c.packets for c in self.media.by_ssrc.values())

    async def wait_packets(
        self, predicate: Callable[[], bool], within: float = WAIT, what: str = ""
    ) -> None:
        """Wait (woken by every packet) until ``predicate()`` holds."""
        assert self.media is not None
        event = self.media.packet_event
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    event.clear()
                    await event.wait()
        except TimeoutError:
            raise AssertionError(f"{self.name}: timed out waiting for {what}") from None

    async def close(self) -> None:
        """Disconnect and close media."""
        if self._answerer is not None:
            self._answerer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._answerer
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        if self.media is not None:
            await self.media.close()


@dataclass
class Hearing:
    """A scheduled hearing on the test server, and who is in it."""

    client: Client
    world: World
    scheduled: Scheduled
    url: str
    stack: contextlib.AsyncExitStack
    lives: list[Live] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.scheduled.hearing_id

    def seat(self, role: str) -> int:
        return self.scheduled.seats[role]

    async def open(self, role: str) -> tuple[aiohttp.ClientSession, str]:
        """Open ``role``'s invitation link in a fresh browser: the browser and its CSRF token."""
        person = await self.stack.enter_async_context(browser(self.client))
        csrf = await open_link(person, self.scheduled.links[role])
        return person, csrf

    async def cookies_of(self, role: str) -> str:
        """Open ``role``'s invitation link in a fresh browser; its cookies."""
        person, _ = await self.open(role)
        return cookie_header(person.cookie_jar)

    async def connect(
        self, role: str, cookies: str | None = None, auth: dict[str, Any] | None = None
    ) -> Live:
        """Connect through ``role``'s link (or the given cookies), without ``hello``."""
        live = Live(role)
        self.lives.append(live)
        await live.connect(
            self.url, cookies if cookies is not None else await self.cookies_of(role), auth
        )
        return live

    async def join(self, role: str, cookies: str | None = None) -> tuple[Live, dict[str, Any]]:
        """Connect and say hello; returns the client and the hello ack."""
        live = await self.connect(role, cookies)
        ack = await live.call("hello", {})
        assert ack["ok"], ack
        return live, ack

    async def admitted(self, mediator: Live, *people: Live) -> None:
        """The mediator admits people waiting; they see themselves in the main room."""
        for person in people:
            ack = await mediator.call("admit", {"participant_id": self.seat(person.name)})
            assert ack["ok"], ack
        for person in people:
            await person.wait_state(lambda s: s["location"] == "main", "admitted")


@asynccontextmanager
async def hearing(client: Client, world: World, **overrides: Any) -> AsyncIterator[Hearing]:
    """A mediation with mediator, applicant, respondent and judge (see test_hearings_support)."""
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world, **overrides)
    async with contextlib.AsyncExitStack() as stack:
        h = Hearing(client, world, scheduled, str(client.make_url("/")), stack)
        try:
            yield h
        finally:
            await asyncio.gather(*(live.close() for live in h.lives), return_exceptions=True)
