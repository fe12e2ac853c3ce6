"""Forwarding behaviour: loss recovery, continuity, mute, sinks, stats, shutdown."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from signaling.media import MAIN_ROOM, MediaPacket, QueueSink, TrackInfo
from signaling.media.rtp import vp8_keyframe_start

from .conftest import Media, until
from .test_media_routing import from_


async def test_publisher_loss_is_recovered_by_nack_and_video_keeps_decoding(media: Media) -> None:
    room = media.worker.room("loss-up")
    # Every 10th video packet of alice's first transmission is lost on the way up.
    alice_p, alice = await media.join(room, "alice", drop_outgoing=lambda seq: seq % 10 == 0)
    _, bob = await media.join(room, "bob", decode=True)

    # aiortc's jitter buffer would stall for 512 packets (~17 s here) at the first gap.
    await until(lambda: bob.decoded_by_track["alice/camera"] > 45, bob.frame_event, within=15)
    camera = next(t for t in alice_p.stats().published if t.label == "camera")
    assert alice.dropped_outgoing >= 5
    assert camera.nacks_sent >= 5
    assert camera.recovered >= 5
    assert camera.lost == 0


async def test_subscriber_loss_is_answered_from_the_history(media: Media) -> None:
    room = media.worker.room("loss-down")
    await media.join(room, "alice")
    bob_p, bob = await media.join(room, "bob", decode=True, drop_incoming=lambda s: s % 10 == 0)

    await until(lambda: bob.decoded_by_track["alice/camera"] > 45, bob.frame_event, within=15)
    video = next(s for s in bob_p.stats().subscribed if s.track_id == "alice/camera")
    assert bob.dropped_incoming >= 5
    assert video.nacks_received >= 1
    assert video.retransmitted >= 5


async def test_sequence_numbers_continue_across_a_publisher_switch(media: Media) -> None:
    room = media.worker.room("switch")
    room.open_sub_room("caucus")
    viewer_p, viewer = await media.join(room, "viewer", publish=False, decode=True)
    await media.join(room, "alice")
    await media.join(room, "bob", location="caucus")
    await until(lambda: viewer.decoded_by_track["alice/camera"] > 10, viewer.frame_event)
    video_ssrcs = [s for s, c in viewer.by_ssrc.items() if c.keyframe_starts]
    assert len(video_ssrcs) == 1

    # Alice leaves for the caucus, bob comes in: the viewer's slots are reused for bob.
    room.move("alice", "caucus")
    room.move("bob", MAIN_ROOM)
    await until(lambda: viewer.decoded_by_track["bob/camera"] > 10, viewer.frame_event)
    assert [s for s, c in viewer.by_ssrc.items() if c.keyframe_starts] == video_ssrcs
    counters = viewer.by_ssrc[video_ssrcs[0]]
    assert counters.seq_jumps == 0 and counters.reordered == 0
    assert viewer.track_of_ssrc(video_ssrcs[0]) == next(
        t for t in room.participant("bob").tracks if t.label == "camera"
    )
    assert len(viewer_p.stats().subscribed) == 2  # one audio and one video m-line, reused


async def test_server_side_mute_holds_back_a_track(media: Media) -> None:
    room = media.worker.room("mute")
    alice_p, _ = await media.join(room, "alice")
    _, bob = await media.join(room, "bob", decode=True)
    await until(lambda: bob.decoded_by_track["alice/camera"] > 5, bob.frame_event)

    alice_p.set_muted("camera", True)
    assert alice_p.is_muted("camera")
    await until(lambda: bob.packets_by_track["alice/microphone"] > 0, bob.packet_event)
    held = bob.packets_by_track["alice/camera"]
    stamp = bob.packets_by_track["alice/microphone"]
    await until(lambda: bob.packets_by_track["alice/microphone"] > stamp + 60, bob.packet_event)
    # Nothing but packets already on the wire when the mute took effect.
    assert bob.packets_by_track["alice/camera"] - held <= 5

    alice_p.set_muted("camera", False)
    decoded = bob.decoded_by_track["alice/camera"]
    await until(lambda: bob.decoded_by_track["alice/camera"] > decoded + 10, bob.frame_event)
    camera = next(c for c in bob.by_ssrc.values() if c.keyframe_starts)
    assert camera.seq_jumps == 0  # the pause is invisible in the sequence numbers


class ConsentingRecorder(QueueSink):
    """Records everyone but a party who declined recording."""

    def __init__(self, declined: str) -> None:
        super().__init__()
        self.declined = declined

    def track_added(self, track: TrackInfo) -> bool:
        return track.participant_id != self.declined and super().track_added(track)


async def test_recorder_sink_gets_encoded_packets_of_its_sub_room_only(media: Media) -> None:
    room = media.worker.room("record")
    room.open_sub_room("caucus")
    recorder = ConsentingRecorder(declined="bob")
    handle = room.attach_sink(MAIN_ROOM, recorder)
    alice_p, alice = await media.join(room, "alice")
    await media.join(room, "bob")
    await media.join(room, "carol", location="caucus")

    received: dict[str, list[MediaPacket]] = {}
    async with asyncio.timeout(10):
        while len(received.get("alice/camera", [])) < 60:
            track, packet = await recorder.queue.get()
            received.setdefault(track.track_id, []).append(packet)
    assert set(received) <= {"alice/camera", "alice/microphone"}
    assert sorted(t.track_id for t in recorder.added) == ["alice/camera", "alice/microphone"]
    video = received["alice/camera"]
    assert vp8_keyframe_start(video[0].payload)
    # Continuous numbering; a packet the server had to NACK upstream may arrive late.
    offsets = [(p.sequence - video[0].sequence) & 0xFFFF for p in video]
    assert max(offsets) + 1 - len(set(offsets)) <= 3
    assert sum(b < a for a, b in pairwise(offsets)) <= 3
    assert all((b.timestamp - a.timestamp) & 0xFFFFFFFF < 1 << 31 for a, b in pairwise(video))
    assert any(p.marker for p in video)

    room.move("alice", "caucus")
    assert sorted(t.track_id for t in recorder.removed) == ["alice/camera", "alice/microphone"]
    assert handle.tracks == []
    assert all(not t.downstreams for t in alice_p.published_tracks if t.info.kind == "video")
    handle.detach()
    assert alice is not None


async def test_stats_report_traffic_and_round_trip_time(media: Media) -> None:
    room = media.worker.room("stats")
    alice_p, _ = await media.join(room, "alice")
    # Receiver reports come from aiortc's receiver, which sees packets only when decoding.
    bob_p, bob = await media.join(room, "bob", decode=True)

    def measured() -> bool:
        stats = bob_p.stats()
        return any(s.round_trip_ms is not None for s in stats.subscribed)

    await until(measured, bob.packet_event, within=10)
    stats = bob_p.stats()
    assert stats.subscribe_state == "connected" and stats.publish_state == "connected"
    camera = next(t for t in alice_p.stats().published if t.label == "camera")
    assert camera.packets > 0 and camera.bitrate > 50_000 and camera.lost == 0
    assert all(s.packets > 0 and s.dropped == 0 for s in stats.subscribed)
    assert stats.quality == "good"


async def test_stop_closes_every_connection(media: Media) -> None:
    room = media.worker.room("stop")
    people = [await media.join(room, name) for name in ("alice", "bob")]
    _, alice = people[0]
    await until(lambda: from_(alice, "bob") > 20, alice.packet_event)

    await media.worker.stop()
    assert media.worker.rooms == [] and room.closed
    for participant, _ in people:
        assert participant.publish_state == "closed"
        assert participant.subscribe_state == "closed"
    assert media.worker._ticker is None
