"""Time to the first remote video frame in a real browser: from opening an invitation link,
from the mediator's admit click, and from a page reload.

Reuses the e2e machinery (tests/e2e): the real server on a free port, hearings scheduled through
the API with real invitation links, Debian's headless Chromium with a fake camera and microphone
driven by Playwright, and the join steps of tests/e2e/helpers.py. Every run schedules a fresh
hearing: the mediator joins first (untimed) with the people pane open, then the applicant opens
their link, clicks through device check, identity and consent as soon as each step shows, and
the mediator admits them as soon as they appear in the waiting list.

"First remote frame decoded" is the first moment ``framesDecoded`` of any inbound video stream on
the applicant's subscribe connection is above zero. An init script (run on every navigation,
so also after the reload) polls ``getStats()`` every 20 ms and notes ``Date.now()``; the
benchmark compares that with its own wall clock (same machine, same clock).

    .venv/bin/python -m bench.join_time --runs 5
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from bench.measure import percentile
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, People, serve
from tests.e2e.helpers import (
    answer_consent,
    declare_identity,
    enter,
    join,
    open_link,
    pass_device_check,
    wait_location,
)

# The applicant's page notes when it first decodes a remote video frame. getStats() is cheap
# enough at 20 ms for one connection; a coarser poll would add up to its period to every figure.
_FIRST_FRAME_PROBE = """(() => {
    const tick = async () => {
        try {
            if (window.bilinLive) {
                const stats = await window.bilinLive.inbound();
                if (Object.values(stats).some((s) => s.video > 0)) {
                    window.__firstFrameAt = Date.now();
                    return;
                }
            }
        } catch (e) { /* the subscribe connection is not there yet */ }
        setTimeout(tick, 20);
    };
    tick();
})();"""

MODES = {
    "video": "camera and microphone",
    "audio": "microphone only (audio-only join)",
    "listen": "listen only",
}
MEASURES = {
    "steps": "link opened → live page (device check, identity, consent)",
    "link": "(a) link opened → first remote frame decoded",
    "admit": "(b) admit click → first remote frame decoded",
    "reload": "(c) page reload → first remote frame decoded",
}


@dataclass
class Samples:
    """Seconds per measure, for one join mode."""

    by_measure: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in MEASURES})


def _first_frame_at(page: Page, timeout: float = 30_000) -> float:
    """Wall-clock time (s) the page first decoded a remote video frame."""
    handle = page.wait_for_function("() => window.__firstFrameAt", polling=20, timeout=timeout)
    return float(handle.json_value()) / 1000


def _join_applicant(page: Page, url: str, mode: str) -> tuple[float, float]:
    """The applicant's join steps as fast as the page allows; wall-clock times the link was
    opened and the live page reached."""
    offset = time.time() - time.monotonic()
    opened = open_link(page, url) + offset
    pass_device_check(page, mode)
    declare_identity(page, "applicant")
    answer_consent(page, True)
    enter(page)
    return opened, time.time()


def run_once(server: LiveServer, browser: Browser, mode: str, into: Samples) -> None:
    """One fresh hearing: the applicant joins in ``mode``, is admitted, then reloads."""
    people = People(browser, server)
    try:
        links = server.schedule_hearing().links
        mediator = people.person()
        join(mediator, links["mediator"], "mediator")
        wait_location(mediator, "main")
        mediator.click("#ctl-people")
        mediator.wait_for_selector("#pane-people", state="visible")

        applicant = people.person()
        applicant.context.add_init_script(_FIRST_FRAME_PROBE)
        opened, entered = _join_applicant(applicant, links["applicant"], mode)
        admit = mediator.locator("#wait-list .person button").first
        admit.wait_for()
        admitted = time.time()
        admit.click()
        first = _first_frame_at(applicant)

        reloaded = time.time()
        applicant.reload()
        wait_location(applicant, "main")
        again = _first_frame_at(applicant)
    finally:
        people.close()
    for measure, seconds in (
        ("steps", entered - opened),
        ("link", first - opened),
        ("admit", first - admitted),
        ("reload", again - reloaded),
    ):
        into.by_measure[measure].append(seconds)


def table(results: dict[str, Samples]) -> str:
    """p50/p95/max per join mode and measure, in seconds."""
    header = f"{'join mode':<34} {'measure':<60} {'n':>2} {'p50 s':>6} {'p95 s':>6} {'max s':>6}"
    lines = [header, "-" * len(header)]
    for mode, samples in results.items():
        for measure, label in MEASURES.items():
            values = samples.by_measure[measure]
            if not values:
                continue
            lines.append(
                f"{MODES[mode]:<34} {label:<60} {len(values):>2}"
                f" {percentile(values, 50):>6.2f} {percentile(values, 95):>6.2f}"
                f" {max(values):>6.2f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh hearings per join mode")
    parser.add_argument(
        "--modes",
        default="video,audio,listen",
        help="comma-separated join modes among " + ", ".join(MODES),
    )
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(unknown)}")

    print("$ .venv/bin/python -m bench.join_time " + shlex.join(sys.argv[1:]), flush=True)
    results = {mode: Samples() for mode in modes}
    with (
        tempfile.TemporaryDirectory(prefix="bench-join-") as data_dir,
        serve(Path(data_dir)) as server,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # Modes interleaved run by run, so machine load drifts hit them alike.
            for i in range(args.runs):
                for mode in modes:
                    run_once(server, browser, mode, results[mode])
                    s = results[mode].by_measure
                    print(
                        f"run {i + 1}/{args.runs} {mode:<6}"
                        f" link {s['link'][-1]:.2f} s, admit {s['admit'][-1]:.2f} s,"
                        f" reload {s['reload'][-1]:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            browser.close()
    print(table(results))


if __name__ == "__main__":
    main()
