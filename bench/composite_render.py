"""Composite render speed: a four-party session (VP8 320×240 at 15 fps and Opus per party, in
10-second segments, as capture writes them) rendered into the evidence package's composite,
on one core, as a multiple of real time; compared with what an operator would otherwise run,
ffmpeg's ``xstack`` on the same segment files with the same output (640×360, 15 fps, x264
ultrafast CRF 28, AAC, names and a clock burned in), pinned to the same core, same run.

    .venv/bin/python -m bench.composite_render --seconds 60

The inputs are made first (not timed) with the test fabricator's encoders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av

from recording.composite import CompositePlan, VideoSource, cjk_font_file, render_composite
from recording.vocabulary import TrackKind
from tests.recording import fabricate

SEGMENT_S = 10
BILIN_360 = "Bilin composite 640×360"
BILIN_720 = "Bilin composite 1280×720"
FFMPEG = "ffmpeg xstack 640×360"
NAMES = (("王调解员", "调解员"), ("张三", "申请人"), ("李四", "被申请人"), ("赵律师", "代理人"))


def _single_threaded_vp8() -> None:
    # The fabricator's libvpx encoder threads by default, which is slow on a busy machine;
    # inputs are not what is measured.
    original: Any = av.CodecContext.create

    def create(name: str, mode: str = "r") -> object:
        context = original(name, mode)
        if name == "libvpx":
            context.thread_count = 1
        return context

    av.CodecContext.create = create  # type: ignore[method-assign, assignment]


def make_inputs(root: Path, seconds: int, segment_s: int = SEGMENT_S) -> CompositePlan:
    """Four parties' segment files under ``root``; the plan that composites them."""
    _single_threaded_vp8()
    tiles, audio = [], []
    for seat, (name, role) in enumerate(NAMES):
        video = fabricate._video_packets(
            seconds, fabricate.COLOURS[seat], 320, 240, 15, segment_s * 15
        )
        sound = fabricate._audio_packets(fabricate._pcm(seconds, seat, None))
        video_files, audio_files = [], []
        for index in range(seconds // segment_s):
            lo, hi = index * segment_s * 1000, (index + 1) * segment_s * 1000
            vpath = root / f"v{seat}" / f"{index:06d}.webm"
            apath = root / f"a{seat}" / f"{index:06d}.webm"
            fabricate.write_segment(vpath, TrackKind.VIDEO, [p for p in video if lo <= p[2] < hi])
            fabricate.write_segment(apath, TrackKind.AUDIO, [p for p in sound if lo <= p[2] < hi])
            video_files.append(vpath)
            audio_files.append(apath)
        tiles.append(VideoSource(name, role, tuple(video_files)))
        audio.append(tuple(audio_files))
    return CompositePlan(
        tiles=tuple(tiles),
        audio=tuple(audio),
        duration_ms=seconds * 1000,
        started_at=dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC),
    )


def ffmpeg_command(plan: CompositePlan, root: Path, out: Path) -> list[str]:
    """The xstack equivalent of the composite (concat lists written under ``root``)."""
    font, _index = cjk_font_file()
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    for i, tile in enumerate(plan.tiles):
        listing = root / f"v{i}.txt"
        listing.write_text("".join(f"file '{p}'\nduration {SEGMENT_S}\n" for p in tile.files))
        args += ["-f", "concat", "-safe", "0", "-i", str(listing)]
    for i, files in enumerate(plan.audio):
        listing = root / f"a{i}.txt"
        listing.write_text("".join(f"file '{p}'\nduration {SEGMENT_S}\n" for p in files))
        args += ["-f", "concat", "-safe", "0", "-i", str(listing)]
    chains = []
    for i, tile in enumerate(plan.tiles):
        chains.append(
            f"[{i}:v]scale=320:180:force_original_aspect_ratio=decrease,"
            "pad=320:180:(ow-iw)/2:(oh-ih)/2,"
            f"drawtext=fontfile={font}:text='{tile.name}（{tile.role}）':x=4:y=h-20:"
            "fontsize=14:fontcolor=white:box=1:boxcolor=black[v{i}]".replace("{i}", str(i))
        )
    n = len(plan.tiles)
    chains.append(
        "".join(f"[v{i}]" for i in range(n)) + f"xstack=inputs={n}:layout=0_0|w0_0|0_h0|w0_h0,"
        f"drawtext=fontfile={font}:text='%{{pts\\:hms}}':x=(w-tw)/2:y=4:fontsize=14:"
        "fontcolor=white:box=1:boxcolor=black[v]"
    )
    chains.append(
        "".join(f"[{n + i}:a]" for i in range(len(plan.audio)))
        + f"amix=inputs={len(plan.audio)}:normalize=0[a]"
    )
    args += ["-filter_complex", ";".join(chains), "-map", "[v]", "-map", "[a]"]
    args += ["-r", "15", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28"]
    args += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", "-b:a", "64k", str(out)]
    return args


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def media_seconds(path: Path) -> float:
    """Length of the video stream of ``path``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return float(container.duration or 0) / 1_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--core", type=int, default=0, help="the one CPU core to run on")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (best and median)")
    args = parser.parse_args()
    pin = hasattr(os, "sched_setaffinity")
    root = Path(tempfile.mkdtemp(prefix="bilin-composite-"))
    times: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    media: dict[str, float] = {}
    try:
        plan = make_inputs(root, args.seconds)
        if pin:
            os.sched_setaffinity(0, {args.core})
        taskset = ["taskset", "-c", str(args.core)] if shutil.which("taskset") else []
        # Interleaved runs: a busy moment of the machine hits every renderer alike.
        for _run in range(args.runs):
            for label, size in ((BILIN_360, (640, 360)), (BILIN_720, (1280, 720))):
                sized = CompositePlan(**{**plan.__dict__, "width": size[0], "height": size[1]})
                out = root / f"bilin-{size[1]}.mp4"
                started, cpu = time.perf_counter(), time.process_time()
                render_composite(sized, out)
                times.setdefault(label, []).append(time.perf_counter() - started)
                cpus.setdefault(label, []).append(time.process_time() - cpu)
                media[label] = media_seconds(out)
            if shutil.which("ffmpeg"):
                out = root / "ffmpeg.mp4"
                command = ffmpeg_command(plan, root, out)
                started, cpu = time.perf_counter(), _children_cpu()
                subprocess.run([*taskset, *command], check=True)
                times.setdefault(FFMPEG, []).append(time.perf_counter() - started)
                cpus.setdefault(FFMPEG, []).append(_children_cpu() - cpu)
                media[FFMPEG] = media_seconds(out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"four parties, {args.seconds} s of media, one core "
        f"({'pinned' if pin else 'not pinned'}), {args.runs} runs, load average {load:.1f}"
    )
    print(
        f"{'renderer':<26} {'media s':>8} {'wall s':>7} {'CPU s':>7} "
        f"{'× real time (wall)':>19} {'× real time (CPU)':>18}"
    )
    for label, runs in times.items():
        wall, cpu = statistics.median(runs), statistics.median(cpus[label])
        print(
            f"{label:<26} {media[label]:>8.1f} {wall:>7.2f} {cpu:>7.2f} "
            f"{media[label] / wall:>19.1f} {media[label] / cpu:>18.1f}"
        )
    print("(medians of the runs; CPU s: user + system time of the renderer, all its threads)")
    if FFMPEG not in times:
        print("(ffmpeg is not installed: apt-get install ffmpeg to compare)")
    print(
        "command: "
        + shlex.join([".venv/bin/python", "-m", "bench.composite_render", *sys.argv[1:]])
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
