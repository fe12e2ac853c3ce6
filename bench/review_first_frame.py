"""Review page: time from navigation to the first decoded frame in every tile, and to playback
running in every tile, for a one-hour session of four participants (camera + microphone each,
10 s segments; made by ``bench.review_session``), in headless Chromium.

Each run opens the page in a fresh tab (same login) with an empty HTTP cache and presses play
as soon as the player is ready. An init script notes ``performance.now()`` (ms since the
navigation started) when every video tile has a decoded frame (``readyState >= 2`` and a
picture size) and when every tile plays on the master clock. Bytes are the Resource Timing
sizes of everything the page fetched before the first-frame moment: segment files, the API
and the page's own files. The alternative the page avoids — fetching the whole hour — is
shown as the total size of the session's files.

    .venv/bin/python -m bench.review_first_frame --runs 10
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.measure import percentile
from bench.review_session import make_long_session
from server.db.engine import create_engine, create_sessionmaker
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, serve
from tests.recording.fabricate import RecordedSession
from tests.world import PASSWORD

_PROBE = """(() => {
  const tick = () => {
    try {
      probe();
    } catch (error) {
      window.__probeError = String(error);
    }
  };
  const timer = setInterval(tick, 10);
  const probe = () => {
    const player = window.bilinReview;
    if (player) {
      const s = player.state();
      const videos = s.tiles.filter((t) => t.kind === "video");
      const els = [...document.querySelectorAll(".tile-video")];
      const shown = els.every((v) => v.readyState >= 2 && v.videoWidth > 0);
      if (!window.__firstFrame && videos.length && shown) {
        window.__firstFrame = performance.now();
        window.__bytesAtFirstFrame = performance.getEntriesByType("resource")
          .filter((e) => e.responseEnd <= window.__firstFrame)
          .reduce((sum, e) => sum + (e.encodedBodySize || 0), 0);
        window.__segmentBytesAtFirstFrame = performance.getEntriesByType("resource")
          .filter((e) => e.responseEnd <= window.__firstFrame && e.name.includes("/segments/"))
          .reduce((sum, e) => sum + (e.encodedBodySize || 0), 0);
        window.__segmentsAtFirstFrame = performance.getEntriesByType("resource")
          .filter((e) => e.responseEnd <= window.__firstFrame && e.name.includes("/segments/"))
          .length;
      }
      const all = s.tiles.every((t) => t.state === "playing" && !t.paused && t.currentTime > 0);
      if (window.__firstFrame && s.playing && all) {
        window.__playing = performance.now();
        clearInterval(timer);
      }
    }
  };
})();"""


def generate(server: LiveServer, minutes: float, parties: int) -> tuple[RecordedSession, int]:
    """The long session in the server's database and data directory; its files' bytes."""

    async def run() -> RecordedSession:
        engine = create_engine(server.settings)
        try:
            async with create_sessionmaker(engine)() as db:
                recorded = await make_long_session(
                    db,
                    server.world,
                    server.settings.data_dir / "recordings",
                    minutes=minutes,
                    parties=parties,
                )
                await db.commit()
                return recorded
        finally:
            await engine.dispose()

    recorded = server.call(run(), timeout=3600)
    root = server.settings.data_dir / "recordings"
    total = sum(p.stat().st_size for p in root.rglob("*.webm"))
    return recorded, total


def measure(
    browser: Browser, server: LiveServer, session_id: int, runs: int
) -> list[dict[str, float]]:
    """``runs`` page loads; per load the first-frame and playing times (s) and bytes."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{server.url}/login?next=/cases")
        page.fill("#username", "lz_court_clerk")
        page.fill("#password", PASSWORD)
        page.click("form.stack button[type=submit]")
        page.wait_for_url("**/cases")
        page.close()
        context.add_init_script(_PROBE)
        results = []
        for _ in range(runs):
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            page.goto(f"{server.url}/recordings/{session_id}")
            page.wait_for_function("() => window.bilinReview", timeout=30_000)
            page.click("#rv-play")
            try:
                page.wait_for_function(
                    "() => window.__firstFrame && window.__playing", timeout=120_000
                )
            except PlaywrightTimeout:
                print(
                    page.evaluate(
                        "() => [window.__probeError, window.__firstFrame, window.__playing,"
                        " window.bilinReview.state()]"
                    ),
                    file=sys.stderr,
                )
                raise
            got = page.evaluate(
                "() => ({first: window.__firstFrame, playing: window.__playing,"
                " bytes: window.__bytesAtFirstFrame, media: window.__segmentBytesAtFirstFrame,"
                " files: window.__segmentsAtFirstFrame})"
            )
            results.append(
                {
                    "first": got["first"] / 1000,
                    "playing": got["playing"] / 1000,
                    "bytes": float(got["bytes"]),
                    "media": float(got["media"]),
                    "files": float(got["files"]),
                }
            )
            print(
                f"run {len(results)}/{runs}: first frame {got['first'] / 1000:.2f} s,"
                f" playing {got['playing'] / 1000:.2f} s, {got['bytes'] / 1e3:.0f} kB",
                file=sys.stderr,
                flush=True,
            )
            page.close()
        return results
    finally:
        context.close()


def main(argv: list[str] | None = None) -> None:
    """Generate the session, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--parties", type=int, default=4)
    args = parser.parse_args(argv)
    print("$ .venv/bin/python -m bench.review_first_frame " + shlex.join(sys.argv[1:]), flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="bench-review-") as data_dir,
        serve(Path(data_dir)) as server,
        sync_playwright() as p,
    ):
        started = time.monotonic()
        recorded, total = generate(server, args.minutes, args.parties)
        made = time.monotonic() - started
        print(
            f"session: {args.minutes:g} min, {args.parties} participants x (VP8 640x360 + Opus),"
            f" {len(recorded.tracks)} tracks, {total / 1e6:.0f} MB of segment files,"
            f" generated in {made:.0f} s",
            flush=True,
        )
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            results = measure(browser, server, recorded.session_id, args.runs)
        finally:
            browser.close()
    header = f"{'measure (n=' + str(len(results)) + ')':<58} {'p50':>9} {'p95':>9} {'max':>9}"
    lines = [header, "-" * len(header)]
    for key, label, unit, scale in (
        ("first", "navigation -> first decoded frame in every tile", "s", 1.0),
        ("playing", "navigation -> every tile playing (play pressed at once)", "s", 1.0),
        ("bytes", "bytes fetched before first frame (all)", "kB", 1e-3),
        ("media", "  of which segment files", "kB", 1e-3),
        ("files", "  segment files fetched before first frame", "", 1.0),
    ):
        values = [r[key] * scale for r in results]
        lines.append(
            f"{label + (' (' + unit + ')' if unit else ''):<58}"
            f" {percentile(values, 50):>9.2f} {percentile(values, 95):>9.2f} {max(values):>9.2f}"
        )
    lines.append(
        f"{'whole session (fetching it all, the alternative) (kB)':<58} {total / 1e3:>9.0f}"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
