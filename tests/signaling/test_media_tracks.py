"""Codecs and tracks: H264 publishers, screen sharing as a second video track."""

from __future__ import annotations

from signaling.media.synthetic import EncodedClip

from .conftest import Media, until


async def test_h264_publisher_is_forwarded_as_h264(media: Media, h264_clip: EncodedClip) -> None:
    room = media.worker.room("h264")
    safari_p, _ = await media.join(room, "safari", video=h264_clip, video_codec="video/H264")
    _, viewer = await media.join(room, "viewer", decode=True)

    camera = next(t for t in safari_p.tracks if t.label == "camera")
    assert camera.mime_type == "video/H264"
    await until(lambda: viewer.decoded_by_track["safari/camera"] > 10, viewer.frame_event)
    assert viewer.frame_sizes["safari/camera"] == (320, 180)
    assert all(viewer.first_packets_were_keyframes())
    # The VP8 publisher next to it stays VP8: each m-line has its publisher's codec.
    viewer_camera = next(t for t in room.participant("viewer").tracks if t.label == "camera")
    assert viewer_camera.mime_type == "video/VP8"


async def test_screen_share_is_a_second_video_track(media: Media) -> None:
    room = media.worker.room("screen")
    presenter_p, presenter = await media.join(room, "presenter")
    _, viewer = await media.join(room, "viewer", decode=True)
    await until(lambda: viewer.decoded_by_track["presenter/camera"] > 5, viewer.frame_event)

    answer = await presenter_p.publish_answer(await presenter.screen_offer(media.video))
    await presenter.publish_done(answer)
    assert sorted(t.label for t in presenter_p.tracks) == ["camera", "microphone", "screen"]
    assert [t.track_id for t in media.signalling.published][-1] == "presenter/screen"
    await until(lambda: viewer.decoded_by_track["presenter/screen"] > 5, viewer.frame_event)
    # The subscribe offer told the page which m-line carries the screen.
    assert any(t is not None and t.label == "screen" for t in viewer.track_by_mid.values())

    answer = await presenter_p.publish_answer(await presenter.screen_offer(None))
    await presenter.publish_done(answer)
    assert sorted(t.label for t in presenter_p.tracks) == ["camera", "microphone"]
    assert media.signalling.unpublished[-1].track_id == "presenter/screen"
    await media.signalling.settle()
    assert "presenter/screen" not in {t.track_id for t in room.participant("viewer").receiving}
    decoded = viewer.decoded_by_track["presenter/camera"]
    await until(
        lambda: viewer.decoded_by_track["presenter/camera"] > decoded + 5, viewer.frame_event
    )
