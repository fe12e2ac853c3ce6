"""The composite render of a fabricated four-party session: the MP4 decodes, lasts as long as
the session, shows four different tiles with names burned in, a placeholder while a seat has
no picture yet, and carries everyone's audio mixed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from recording.composite import PLACEHOLDER_Y, CompositePlan, VideoSource, grid, render_composite
from recording.export import plan_composite
from recording.stores import local_store
from server.db.recording import RecordingSession
from server.settings import Settings
from tests.recording.fabricate import COLOURS, make_recorded_session
from tests.world import World

SECONDS = 6.0
LATE = 3.0  # the fourth seat joins this late
# The fabricated microphones are tones of 300 + 110 × seat index Hz.
TONES = (300, 410, 520, 630)


@pytest.fixture(autouse=True)
def single_threaded_vp8(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fabricator's VP8 encoder, single-threaded: by default libvpx threads, which on a
    busy two-core machine is ~20 times slower (3.2 s against 0.13 s for 4 s of 320×240)."""
    original = av.CodecContext.create

    def create(name: str, mode: str = "r") -> Any:
        context = original(name, mode)
        if name == "libvpx":
            context.thread_count = 1
        return context

    monkeypatch.setattr(av.CodecContext, "create", create)


@pytest.fixture
def backend() -> str:
    """The render does not depend on the database: SQLite only (the export test runs both)."""
    return "sqlite"


def _planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = frame.to_ndarray(format="yuv420p")
    h, w = frame.height, frame.width
    chroma = data[h:].reshape(2, h // 2, w // 2)
    return data[:h], chroma[0], chroma[1]


async def test_four_party_composite(db: AsyncSession, world: World, settings: Settings) -> None:
    made = await make_recorded_session(
        db,
        world,
        settings.data_dir / "recordings",
        parties=4,
        seconds=SECONDS,
        segment_seconds=3.0,
        late_join={3: LATE},
    )
    await db.commit()
    session = await db.get(RecordingSession, made.session_id)
    assert session is not None
    plan = await plan_composite(
        db, settings, local_store(settings), session, settings.data_dir / "scratch"
    )
    assert [tile.name for tile in plan.tiles] == [seat.name for seat in made.seats]
    out = settings.data_dir / "composite.mp4"
    progress: list[float] = []
    stats = render_composite(plan, out, progress.append)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert stats.speed > 1.0  # faster than real time even here (tests share two cores)

    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 640, 360)
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = list(container.decode(video=0))
    assert abs(len(frames) / 15 - SECONDS) < 0.2  # duration ≈ the session's

    columns, _rows, tw, th = grid(4, 640, 360)
    band = max(16, th // 8) // 2 * 2

    def tile(planes: tuple[np.ndarray, ...], i: int) -> list[float]:
        x, y = (i % columns) * tw, (i // columns) * th
        # The centre of the tile (away from the name band, clock and letterbox bars).
        cy, cx = y + th // 2 - 20, x + tw // 2
        luma = float(planes[0][cy - 10 : cy + 10, cx - 40 : cx - 10].mean())
        u = float(
            planes[1][(cy - 10) // 2 : (cy + 10) // 2, (cx - 40) // 2 : (cx - 10) // 2].mean()
        )
        v = float(
            planes[2][(cy - 10) // 2 : (cy + 10) // 2, (cx - 40) // 2 : (cx - 10) // 2].mean()
        )
        return [luma, u, v]

    late = _planes(frames[int(LATE * 15) + 15])  # everyone is on
    early = _planes(frames[15])  # the fourth seat has not joined yet
    for i in range(4):
        want = COLOURS[i]
        got = tile(late, i)
        assert all(abs(a - b) < 25 for a, b in zip(got, want, strict=True)), (i, got, want)
    # Four different pictures.
    colours = {tuple(round(c / 30) for c in tile(late, i)) for i in range(4)}
    assert len(colours) == 4
    # Before joining: the placeholder (grey, no colour) in the fourth tile.
    x, y = (3 % columns) * tw, (3 // columns) * th
    corner = [
        p[(y + 20) // s : (y + 50) // s, (x + 20) // s : (x + 80) // s]
        for p, s in zip(early, (1, 2, 2), strict=True)
    ]
    luma, u, v = (float(p.mean()) for p in corner)
    assert abs(luma - PLACEHOLDER_Y) < 10 and abs(u - 128) < 6 and abs(v - 128) < 6
    # Names: bright text pixels in each tile's name band, different for each name.
    bands = []
    for i in range(4):
        x, y = (i % columns) * tw, (i // columns) * th
        region = late[0][y + th - band : y + th, x : x + tw]
        assert (region > 150).sum() > 60, f"no name drawn in tile {i}"
        bands.append(region > 150)
    assert all(not np.array_equal(bands[0], other) for other in bands[1:])
    # The clock changes once a second at the top.
    top_a, top_b = early[0][:20, 200:440], _planes(frames[30])[0][:20, 200:440]
    assert (top_a > 150).sum() > 30 and not np.array_equal(top_a > 150, top_b > 150)

    # Audio: every participant's tone is in the mix.
    with av.open(str(out)) as container:
        pcm = np.concatenate(
            [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
        ).astype(np.float64)
    rate = 48_000
    assert abs(len(pcm) / rate - SECONDS) < 0.2
    window = pcm[int(4.0 * rate) : int(5.0 * rate)]  # after the late seat joined
    spectrum = np.abs(np.fft.rfft(window))
    noise = float(np.median(spectrum))
    for tone in TONES:
        assert spectrum[tone - 3 : tone + 4].max() > 50 * noise, tone
    before = np.abs(np.fft.rfft(pcm[int(1.0 * rate) : int(2.0 * rate)]))
    assert before[627:634].max() < 0.1 * spectrum[627:634].max()  # the late seat was silent


def test_loud_voices_clip_instead_of_wrapping(tmp_path: Path) -> None:
    from recording.vocabulary import TrackKind
    from tests.recording.fabricate import _audio_packets, write_segment

    # Four full-scale square waves in phase: the sum is four times too loud.
    total = 48_000
    square = np.where((np.arange(total) // 120) % 2 == 0, 30000, -30000).astype(np.int16)
    files = []
    for i in range(4):
        path = tmp_path / f"a{i}.webm"
        write_segment(path, TrackKind.AUDIO, _audio_packets(np.stack([square, square], 1)))
        files.append((path,))
    plan = CompositePlan(
        tiles=(VideoSource("张三", "申请人", ()),),
        audio=tuple(files),
        duration_ms=1000,
        started_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
    )
    render_composite(plan, tmp_path / "loud.mp4")
    with av.open(str(tmp_path / "loud.mp4")) as container:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    peak = float(np.abs(pcm[4800:-4800]).max())
    # Clipped at full scale (AAC may overshoot a little), and no wrapped-around sign flips:
    # the loud half-waves stay on their side.
    assert peak > 0.9
    assert np.mean(np.abs(pcm[4800:-4800]) > 0.5) > 0.5


def test_h264_tracks_from_capture_land_on_the_session_clock(tmp_path: Path) -> None:
    """An H264 camera as capture writes it (fragmented MP4 through the real SegmentWriter),
    starting 3 s into the session: placeholder before, the picture after."""
    from recording.segment_writer import SegmentWriter
    from signaling.media.synthetic import encode_video

    clip = encode_video(
        320, 180, fps=15, seconds=2, bitrate=300_000, keyframe_interval=15, codec="libx264"
    )
    path = tmp_path / "000000.mp4"
    writer = SegmentWriter(path, "video/H264")
    step = 1000 * clip.frame_duration / clip.clock_rate
    for index, (data, key) in enumerate(clip.frames):
        writer.write(data, 3000 + round(index * step), key, round(step))
    writer.close()
    plan = CompositePlan(
        tiles=(VideoSource("张三", "申请人", (path,)),),
        audio=(),
        duration_ms=5000,
        started_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
    )
    render_composite(plan, tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as container:
        frames = [_planes(f) for f in container.decode(video=0)]
    assert abs(len(frames) / 15 - 5.0) < 0.2

    # Before: the flat grey placeholder; after: the synthetic picture (a random block pattern).
    before, after = frames[15][0][40:120, 40:280], frames[int(4.0 * 15)][0][40:120, 40:280]
    assert float(before.mean()) == pytest.approx(PLACEHOLDER_Y, abs=8)
    assert float(before.std()) < 5 and float(after.std()) > 20
