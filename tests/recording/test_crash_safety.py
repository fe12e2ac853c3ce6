"""A recorder killed with SIGKILL leaves segment files that play up to ~1 s before the kill."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from recording.storage import LocalStore
from tests.recording.capture_helpers import decoded_pts_ms

ROOT = Path(__file__).resolve().parents[2]


async def test_sigkill_leaves_playable_segments(tmp_path: Path) -> None:
    origin = time.time()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.recording.crash_child",
        str(tmp_path),
        repr(origin),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    lines: list[dict[str, Any]] = []
    first_fed: int | None = None
    try:
        async with asyncio.timeout(30):
            while True:
                raw = await child.stdout.readline()
                assert raw, "the recording child exited early"
                line = json.loads(raw)
                lines.append(line)
                if line["event"] == "fed":
                    first_fed = line["ms"] if first_fed is None else first_fed
                    if line["ms"] - first_fed >= 6_000:  # ~6 s of live media
                        break
        child.send_signal(signal.SIGKILL)
        kill_ms = (time.time() - origin) * 1000
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    assert first_fed is not None

    store = LocalStore(tmp_path)
    opened = {line["key"]: line for line in lines if line["event"] == "opened"}
    closed = {line["key"]: line for line in lines if line["event"] == "closed"}
    assert not [line for line in lines if line["event"] == "failed"]

    # Closed segments are intact: the bytes reported, every frame decodes.
    assert len(closed) >= 2  # the audio track cuts every 2 s
    for key, line in closed.items():
        data = store.path(key).read_bytes()
        assert len(data) == line["size"]
        assert hashlib.sha256(data).hexdigest() == line["sha256"]
        pts = decoded_pts_ms(store.path(key))
        assert len(pts) == 100  # 2 s of 20 ms Opus frames
        assert pts[-1] == line["end_ms"] - 20

    # The open segments (video: one 10 s segment, still open; audio: the current one)
    # decode up to within 2 s of the kill.
    still_open = [key for key in opened if key not in closed]
    assert sorted(opened[k]["track"] for k in still_open) == ["audio", "video"]
    for key in still_open:
        pts = decoded_pts_ms(store.path(key))
        assert pts, f"{key} does not decode at all"
        assert pts[0] <= opened[key]["start_ms"] + 3
        assert pts[-1] >= kill_ms - 2_000, (key, pts[-1], kill_ms)
    video = next(k for k in still_open if opened[k]["track"] == "video")
    assert decoded_pts_ms(store.path(video))[-1] - opened[video]["start_ms"] >= 4_000
