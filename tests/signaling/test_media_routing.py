"""Rooms, sub-rooms and the waiting room, with real aiortc clients over the network."""

from __future__ import annotations

import pytest

from signaling.media import MAIN_ROOM, NegotiationError, Participant, SdpError, UnknownSubRoom
from signaling.media.synthetic import SyntheticParticipant

from .conftest import Media, until


def total(client: SyntheticParticipant) -> int:
    """Every RTP packet a client's subscribe connection received."""
    return sum(c.packets for c in client.by_ssrc.values())


def sent_to(participant: Participant) -> int:
    """Every RTP packet the server sent to a participant (its own counters)."""
    return sum(s.packets for s in participant.stats().subscribed)


async def drained(*people: tuple[Participant, SyntheticParticipant]) -> None:
    """Wait until each client has read every packet the server sent it so far.

    Packets sent just before a move are still queued in the client's socket; counting
    them as "received after the move" would make the test measure the event loop.
    """
    for participant, client in people:
        target = sent_to(participant)
        await until(lambda c=client, n=target: total(c) >= n, client.packet_event, within=5)


def from_(client: SyntheticParticipant, *publishers: str) -> int:
    """Packets a client received from some publishers (all their tracks)."""
    return sum(n for t, n in client.packets_by_track.items() if t.split("/")[0] in publishers)


async def test_three_participants_decode_each_others_video_and_audio(media: Media) -> None:
    room = media.worker.room("session-1")
    people = [await media.join(room, name, decode=True) for name in ("alice", "bob", "carol")]
    clients = [client for _, client in people]

    def everyone_decodes() -> bool:
        for participant, client in people:
            for other, _ in people:
                if other is participant:
                    continue
                for label in ("camera", "microphone"):
                    if client.decoded_by_track[f"{other.id}/{label}"] < 10:
                        return False
        return True

    await until(everyone_decodes, *(c.frame_event for c in clients), within=20)
    for _, client in people:
        # Every video stream a subscriber received began with a keyframe.
        assert client.first_packets_were_keyframes() == [True, True]
        assert set(client.frame_sizes.values()) == {(320, 180)}


async def test_waiting_room_receives_nothing_until_admitted(media: Media) -> None:
    room = media.worker.room("session-2")
    alice_p, alice = await media.join(room, "alice")
    bob_p, bob = await media.join(room, "bob")
    wendy_p, wendy = await media.join(room, "wendy", location=None)

    await until(lambda: from_(alice, "bob") > 150, alice.packet_event)
    await media.signalling.settle()
    assert total(wendy) == 0
    assert await wendy_p.subscribe_offer() is None  # nothing to receive, nothing offered
    assert from_(alice, "wendy") == 0 and from_(bob, "wendy") == 0
    assert wendy_p.receiving == []

    room.admit("wendy")
    await until(
        lambda: (
            from_(wendy, "alice") > 50 and from_(wendy, "bob") > 50 and from_(alice, "wendy") > 50
        ),
        wendy.packet_event,
        alice.packet_event,
    )

    room.move("wendy", None)  # sent back to the waiting room
    sent = sent_to(wendy_p)
    assert all(not t.downstreams for t in wendy_p.published_tracks)
    await drained((wendy_p, wendy), (alice_p, alice), (bob_p, bob))
    seen = total(wendy), from_(alice, "wendy"), from_(bob, "wendy")
    stamp = from_(alice, "bob")
    await until(lambda: from_(alice, "bob") > stamp + 100, alice.packet_event)
    assert sent_to(wendy_p) == sent
    assert (total(wendy), from_(alice, "wendy"), from_(bob, "wendy")) == seen


async def test_caucus_rooms_are_isolated_at_the_packet_level(media: Media) -> None:
    room = media.worker.room("session-3")
    people = {
        name: await media.join(room, name)
        for name in ("mediator", "applicant", "respondent", "judge")
    }
    mediator, applicant = people["mediator"][1], people["applicant"][1]
    respondent, judge = people["respondent"][1], people["judge"][1]
    await until(lambda: from_(applicant, "respondent") > 30, applicant.packet_event)

    room.open_sub_room("caucus-a")
    room.open_sub_room("caucus-b")
    room.move("applicant", "caucus-a")
    room.move("respondent", "caucus-b")
    await media.signalling.settle()
    await drained(*people.values())
    before = {name: (total(c), sent_to(p)) for name, (p, c) in people.items()}

    # While the main room keeps talking, the caucus rooms (one person each) hear nothing.
    mark = from_(mediator, "judge")
    await until(lambda: from_(mediator, "judge") > mark + 100, mediator.packet_event)
    for name in ("applicant", "respondent"):
        participant, client = people[name]
        assert (total(client), sent_to(participant)) == before[name]

    # The mediator joins caucus A: applicant and mediator hear each other, nobody else does.
    room.move("mediator", "caucus-a")
    await until(
        lambda: from_(applicant, "mediator") > 100 and from_(mediator, "applicant") > 100,
        applicant.packet_event,
        mediator.packet_event,
    )
    await media.signalling.settle()
    await drained(*people.values())
    marks = {
        "applicant": from_(applicant, "judge", "respondent"),
        "respondent": from_(respondent, "mediator", "applicant", "judge"),
        "judge": from_(judge, "mediator", "applicant", "respondent"),
        "mediator": from_(mediator, "judge", "respondent"),
    }
    stamp = from_(applicant, "mediator")
    await until(lambda: from_(applicant, "mediator") > stamp + 100, applicant.packet_event)
    assert from_(applicant, "judge", "respondent") == marks["applicant"]
    assert from_(respondent, "mediator", "applicant", "judge") == marks["respondent"]
    assert from_(judge, "mediator", "applicant", "respondent") == marks["judge"]
    assert from_(mediator, "judge", "respondent") == marks["mediator"]

    # Back to the main room: media between the parties is restored.
    room.close_sub_room("caucus-a")
    room.move("respondent", MAIN_ROOM)
    stamp = from_(applicant, "respondent")
    await until(
        lambda: (
            from_(applicant, "respondent") > stamp + 100
            and from_(judge, "applicant") > marks["judge"] + 100
        ),
        applicant.packet_event,
        judge.packet_event,
    )
    with pytest.raises(UnknownSubRoom):
        room.move("judge", "caucus-a")


async def test_removed_participant_loses_media_at_once(media: Media) -> None:
    room = media.worker.room("session-4")
    alice_p, alice = await media.join(room, "alice")
    bob_p, bob = await media.join(room, "bob")
    await media.join(room, "carol")
    await until(
        lambda: from_(alice, "bob") > 50 and from_(bob, "carol") > 50,
        alice.packet_event,
        bob.packet_event,
    )

    sent_to_bob = sent_to(bob_p)
    await room.remove("bob")
    assert bob_p.publish_state == "closed" and bob_p.subscribe_state == "closed"
    assert sent_to(bob_p) == sent_to_bob
    await drained((alice_p, alice))
    seen_by_alice = from_(alice, "bob")
    stamp = from_(alice, "carol")
    await until(lambda: from_(alice, "carol") > stamp + 100, alice.packet_event, within=5)
    assert from_(alice, "bob") == seen_by_alice
    assert total(bob) <= sent_to_bob
    assert {t.track_id for t in media.signalling.unpublished} == {"bob/camera", "bob/microphone"}
    assert [p.id for p in room.participants] == ["alice", "carol"]


async def test_late_subscriber_starts_at_a_keyframe_requested_for_it(media: Media) -> None:
    room = media.worker.room("session-5")
    _, alice = await media.join(room, "alice")
    _, bob = await media.join(room, "bob")
    # Well past the clip's first keyframe: without a request a newcomer would wait.
    await until(lambda: from_(bob, "alice") > 100, bob.packet_event)
    assert alice.video_track is not None
    requests = alice.video_track.keyframe_requests

    _, carol = await media.join(room, "carol", decode=True)
    await until(
        lambda: (
            carol.decoded_by_track["alice/camera"] > 5 and carol.decoded_by_track["bob/camera"] > 5
        ),
        carol.frame_event,
    )
    assert carol.first_packets_were_keyframes() == [True, True]
    assert alice.video_track.keyframe_requests > requests


async def test_malformed_sdp_is_rejected_and_others_are_unaffected(media: Media) -> None:
    room = media.worker.room("session-6")
    _, alice = await media.join(room, "alice")
    _, bob = await media.join(room, "bob")
    mallory_p, _ = await media.join(room, "mallory", publish=False)

    probe = SyntheticParticipant("probe", media.video, media.audio)
    valid = await probe.publish_offer()
    await probe.close()
    broken = [
        "",
        "hello",
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n",
        valid.replace("a=fingerprint", "a=x-fingerprint"),
        valid.replace("VP8/90000", "AV1X/90000"),
        "v=0\r\n" + "a=x\r\n" * 40000,
    ]
    for sdp in broken:
        with pytest.raises(SdpError):
            await mallory_p.publish_answer(sdp)
    await media.signalling.settle()
    with pytest.raises(NegotiationError):  # no offer is waiting for an answer
        await mallory_p.subscribe_answer("v=0\r\n")
    assert mallory_p.tracks == []

    stamp = from_(alice, "bob"), from_(bob, "alice")
    await until(
        lambda: from_(alice, "bob") > stamp[0] + 100 and from_(bob, "alice") > stamp[1] + 100,
        alice.packet_event,
        bob.packet_event,
    )
    # The same participant can still publish properly afterwards.
    camera = SyntheticParticipant("mallory-camera", media.video, media.audio)
    try:
        await camera.publish_done(await mallory_p.publish_answer(await camera.publish_offer()))
        assert sorted(t.label for t in mallory_p.tracks) == ["camera", "microphone"]
        stamp = from_(alice, "mallory")
        await until(lambda: from_(alice, "mallory") > stamp + 50, alice.packet_event)
    finally:
        await camera.close()
