"""Media through the signalling protocol: real aiortc peer connections (synthetic pre-encoded
VP8/Opus) negotiated over socket.io /live with sessions from real invitation links.

What is asserted is what people would notice: who receives whose packets. The database is not
what these tests are about, so they run on SQLite only.
"""

from __future__ import annotations

import itertools
import time

import pytest
from aiortc.sdp import SessionDescription

from server.appkeys import LIVE
from signaling.media import Participant
from signaling.media.synthetic import EncodedClip, SyntheticParticipant
from tests.world import World, login

from .test_live_support import Client, Hearing, Live, hearing


@pytest.fixture
def backend() -> str:
    """SQLite only (overrides the conftest's parametrized backend)."""
    return "sqlite"


def server_side(h: Hearing, live: Live) -> Participant | None:
    """The media worker's participant for someone (None when they have none)."""
    room = h.client.app[LIVE].worker.get_room(str(h.id))
    if room is None:
        return None
    return next((p for p in room.participants if p.id == str(h.seat(live.name))), None)


def sent_to(h: Hearing, live: Live) -> int:
    """Packets the server has sent to someone's subscribe connection."""
    participant = server_side(h, live)
    return sum(s.packets for s in participant.stats().subscribed) if participant else 0


async def drained(h: Hearing, *people: Live) -> None:
    """Wait until each person has read every packet the server sent them so far (packets in
    flight when a move happened must not count as received after it)."""
    for live in people:
        target = sent_to(h, live)
        await live.wait_packets(lambda lv=live, n=target: lv.packets_total() >= n, within=5)


async def start(h: Hearing, video: EncodedClip, audio: EncodedClip, *roles: str) -> dict[str, Live]:
    """Everyone joins (mediator first) and publishes camera and microphone."""
    people = {}
    for role in roles:
        live, _ = await h.join(role)
        await live.start_media(video, audio)
        people[role] = live
    return people


async def test_admitted_people_receive_each_other_and_the_waiting_room_nothing(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        people = await start(h, video_clip, audio_clip, "mediator", "applicant", "respondent")
        mediator, applicant, respondent = (
            people["mediator"],
            people["applicant"],
            people["respondent"],
        )
        await h.admitted(mediator, applicant)
        await mediator.wait_packets(
            lambda: mediator.packets_from(h.seat("applicant")) > 100, what="applicant's media"
        )
        await applicant.wait_packets(
            lambda: applicant.packets_from(h.seat("mediator")) > 100, what="mediator's media"
        )
        assert applicant.media is not None
        assert {t.split("/")[1] for t in applicant.media.packets_by_track} == {
            "camera",
            "microphone",
        }
        # The respondent, waiting, publishes but receives nothing and nobody receives them.
        assert respondent.packets_total() == 0 and sent_to(h, respondent) == 0
        assert mediator.packets_from(h.seat("respondent")) == 0
        assert applicant.packets_from(h.seat("respondent")) == 0
        assert respondent.events("subscribe_offer") == []

        await h.admitted(mediator, respondent)
        await respondent.wait_packets(
            lambda: (
                respondent.packets_from(h.seat("mediator")) > 50
                and respondent.packets_from(h.seat("applicant")) > 50
            ),
            what="everyone's media after admission",
        )
        await mediator.wait_packets(lambda: mediator.packets_from(h.seat("respondent")) > 50)
        for live in people.values():
            assert live.negotiation_errors == []
            offer = live.events("subscribe_offer")[-1]
            labels = {(t["participant_id"], t["label"]) for t in offer["tracks"].values()}
            others = {h.seat(r) for r in people if r != live.name}
            assert labels == {(p, label) for p in others for label in ("audio", "video")}


async def test_sent_back_to_waiting_receives_nothing_more(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        people = await start(h, video_clip, audio_clip, "mediator", "applicant", "respondent")
        mediator, applicant, respondent = people.values()
        await h.admitted(mediator, applicant, respondent)
        await respondent.wait_packets(lambda: respondent.packets_from(h.seat("applicant")) > 50)

        ack = await mediator.call("send_to_waiting", {"participant_id": h.seat("respondent")})
        assert ack["ok"]
        sent = sent_to(h, respondent)
        await drained(h, respondent, mediator, applicant)
        seen = respondent.packets_total(), mediator.packets_from(h.seat("respondent"))
        mark = mediator.packets_from(h.seat("applicant"))
        await mediator.wait_packets(lambda: mediator.packets_from(h.seat("applicant")) > mark + 100)
        assert sent_to(h, respondent) == sent
        assert (respondent.packets_total(), mediator.packets_from(h.seat("respondent"))) == seen


async def test_caucus_rooms_are_isolated_at_the_packet_level(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        people = await start(h, video_clip, audio_clip, "mediator", "applicant", "respondent")
        mediator, applicant, respondent = people.values()
        await h.admitted(mediator, applicant, respondent)
        await applicant.wait_packets(lambda: applicant.packets_from(h.seat("respondent")) > 50)

        # The mediator takes the applicant into a caucus room.
        assert (await mediator.call("open_caucus", {"label": "申请人"}))["ok"]
        for role in ("applicant", "mediator"):
            ack = await mediator.call("move", {"participant_id": h.seat(role), "room": "caucus-1"})
            assert ack["ok"]
        await drained(h, mediator, applicant, respondent)
        marks = {
            "respondent": respondent.packets_total(),
            "applicant": applicant.packets_from(h.seat("respondent")),
            "mediator": mediator.packets_from(h.seat("respondent")),
        }
        # While the caucus talks, nothing of it reaches the main room and nothing back.
        start_at = mediator.packets_from(h.seat("applicant"))
        await mediator.wait_packets(
            lambda: mediator.packets_from(h.seat("applicant")) > start_at + 150,
            what="caucus media",
        )
        assert respondent.packets_total() == marks["respondent"]
        assert applicant.packets_from(h.seat("respondent")) == marks["applicant"]
        assert mediator.packets_from(h.seat("respondent")) == marks["mediator"]

        # Back in the main room, the parties hear each other again.
        assert (await mediator.call("close_caucus", {"room": "caucus-1"}))["ok"]
        mark = respondent.packets_from(h.seat("applicant"))
        await respondent.wait_packets(
            lambda: respondent.packets_from(h.seat("applicant")) > mark + 50,
            what="media after the caucus",
        )


async def test_revocation_stops_media_within_five_seconds(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        people = await start(h, video_clip, audio_clip, "mediator", "applicant", "respondent")
        mediator, applicant, respondent = people.values()
        await h.admitted(mediator, applicant, respondent)
        await mediator.wait_packets(lambda: mediator.packets_from(h.seat("applicant")) > 50)
        await applicant.wait_packets(lambda: applicant.packets_from(h.seat("mediator")) > 50)

        csrf = await login(client, "lz_mediator")
        began = time.monotonic()
        response = await client.delete(
            f"/api/hearings/{h.id}/participants/{h.seat('applicant')}/invitation",
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 204
        await applicant.wait_for(lambda: applicant.disconnected.is_set(), within=5)
        assert time.monotonic() - began < 5
        assert applicant.events("removed") == [{"reason": "revoked"}]
        assert server_side(h, applicant) is None
        await drained(h, mediator, respondent)
        received = applicant.packets_total()
        seen = (
            mediator.packets_from(h.seat("applicant")),
            respondent.packets_from(h.seat("applicant")),
        )
        mark = mediator.packets_from(h.seat("respondent"))
        await mediator.wait_packets(
            lambda: mediator.packets_from(h.seat("respondent")) > mark + 100
        )
        assert (
            mediator.packets_from(h.seat("applicant")),
            respondent.packets_from(h.seat("applicant")),
        ) == seen
        assert applicant.packets_total() == received
        await mediator.wait_state(
            lambda s: (
                not next(p for p in s["participants"] if p["id"] == h.seat("applicant"))[
                    "connected"
                ]
            )
        )


async def test_a_reload_comes_back_as_the_same_seat_without_a_duplicate(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        await mediator.start_media(video_clip, audio_clip)
        cookies = await h.cookies_of("applicant")
        applicant, _ = await h.join("applicant", cookies)
        await applicant.start_media(video_clip, audio_clip)
        await h.admitted(mediator, applicant)
        await mediator.wait_packets(lambda: mediator.packets_from(h.seat("applicant")) > 50)

        # The page reloads: a new connection and new peer connections, the old ones still up.
        again, hello = await h.join("applicant", cookies)
        assert hello["state"]["location"] == "main"
        await again.start_media(video_clip, audio_clip)
        await applicant.wait_for(lambda: applicant.disconnected.is_set())
        assert applicant.events("removed") == [{"reason": "replaced"}]
        await again.wait_packets(
            lambda: again.packets_from(h.seat("mediator")) > 50, what="media after the reload"
        )
        mark = mediator.packets_from(h.seat("applicant"))
        await mediator.wait_packets(
            lambda: mediator.packets_from(h.seat("applicant")) > mark + 50,
            what="the reloaded page's media",
        )
        # One seat, one tile: the mediator's newest offer carries the applicant once.
        offer = mediator.events("subscribe_offer")[-1]
        tracks = sorted((t["participant_id"], t["label"]) for t in offer["tracks"].values())
        assert tracks == [(h.seat("applicant"), "audio"), (h.seat("applicant"), "video")]
        room = client.app[LIVE].worker.get_room(str(h.id))
        assert room is not None
        assert sorted(p.id for p in room.participants) == sorted(
            [str(h.seat("mediator")), str(h.seat("applicant"))]
        )
        state = mediator.state
        assert [p["id"] for p in state["participants"]].count(h.seat("applicant")) == 1


async def test_connection_quality_is_marked_in_the_state(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        people = await start(h, video_clip, audio_clip, "mediator", "applicant")
        mediator, applicant = people.values()
        await h.admitted(mediator, applicant)
        await mediator.wait_packets(lambda: mediator.packets_from(h.seat("applicant")) > 50)

        def quality(live: Live, role: str) -> str | None:
            return next(  # type: ignore[no-any-return]
                p["quality"] for p in live.state["participants"] if p["id"] == h.seat(role)
            )

        # No loss on this machine: both are marked good within a few report intervals.
        await mediator.wait_for(
            lambda: (
                quality(mediator, "applicant") == "good" and quality(mediator, "mediator") == "good"
            ),
            what="quality marks",
        )
        await applicant.wait_for(lambda: quality(applicant, "mediator") == "good", what="marks")
        # Sent only when it changes: no state is repeated.
        states = mediator.events("state")
        assert all(a != b for a, b in itertools.pairwise(states))


async def test_shutdown_disconnects_everyone_and_closes_every_peer_connection(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        people = await start(h, video_clip, audio_clip, "mediator", "applicant")
        mediator, applicant = people.values()
        await h.admitted(mediator, applicant)
        await mediator.wait_packets(lambda: mediator.packets_from(h.seat("applicant")) > 50)
        participants = [server_side(h, live) for live in people.values()]
        service = client.app[LIVE]

        began = time.monotonic()
        await client.close()
        # No websocket keeps the shutdown waiting for the ping timeout (20 s) or aiohttp's
        # shutdown timeout (60 s); python-engineio's client itself takes up to its 5 s
        # request timeout to finish the websocket close handshake.
        assert time.monotonic() - began < 10
        for live in people.values():
            await live.wait_for(lambda lv=live: lv.disconnected.is_set(), what="disconnect")
        for participant in participants:
            assert participant is not None
            assert (participant.publish_state, participant.subscribe_state) == ("closed", "closed")
        assert service.connections == {} and service.hearings == {}
        with pytest.raises(Exception, match="not running"):
            service.worker.room("x")


async def test_a_screen_share_reaches_the_room_labelled_as_such(
    client: Client, world: World, video_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        await mediator.start_media(None, None)
        applicant, _ = await h.join("applicant")
        await h.admitted(mediator, applicant)
        # The applicant shares a screen only (no camera, no microphone): the page names the
        # m-line with ``labels``.
        applicant.media = SyntheticParticipant("applicant", video_clip, None)
        offer = await applicant.media.publish_offer()
        [mid] = [m.rtp.muxId for m in SessionDescription.parse(offer).media]
        ack = await applicant.call("publish", {"sdp": offer, "labels": {mid: "screen"}})
        assert ack["ok"], ack
        await applicant.media.publish_done(ack["sdp"])
        ack = await applicant.call("media_state", {"audio": False, "video": False, "screen": True})
        assert ack["ok"]
        await mediator.wait_packets(
            lambda: mediator.packets_from(h.seat("applicant")) > 30, what="the screen share"
        )
        offer_event = mediator.events("subscribe_offer")[-1]
        assert list(offer_event["tracks"].values()) == [
            {"participant_id": h.seat("applicant"), "label": "screen"}
        ]
        assert mediator.media is not None
        assert set(mediator.media.packets_by_track) == {f"{h.seat('applicant')}/screen"}
        await mediator.wait_state(
            lambda s: next(p for p in s["participants"] if p["id"] == h.seat("applicant"))["screen"]
        )
        # A label that is not one of the protocol's is refused.
        ack = await applicant.call("publish", {"sdp": offer, "labels": {mid: "desktop"}})
        assert ack["error"]["code"] == "error.live_invalid"
