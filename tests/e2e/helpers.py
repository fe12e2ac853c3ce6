"""Steps a person takes in the browser, and what the tests read back from the page."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page

from tests.server.test_hearings_support import APPLICANT_ID
from tests.world import id_number

# Valid resident ID numbers for the parties (the applicant's is on the case record).
ID_NUMBERS = {"applicant": APPLICANT_ID, "respondent": id_number("620602", "19790521", "034")}
DECLARED_NAMES = {"applicant": "张三", "respondent": "李四"}


def open_link(page: Page, url: str) -> float:
    """Open an invitation link; returns the time it was opened (for the figures)."""
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector("#step-device_check:not([hidden])")
    return started


def pass_device_check(page: Page, mode: str = "video") -> None:
    """Wait until the preview plays (or the problem is shown), choose the mode, go on."""
    page.check(f'input[name="dc-mode"][value="{mode}"]')
    if mode == "video":
        page.wait_for_function(
            "() => document.querySelector('#dc-video').videoWidth > 0", timeout=10_000
        )
    page.click("#dc-next")


def declare_identity(page: Page, role: str) -> None:
    page.wait_for_selector("#step-identity:not([hidden])")
    page.fill("#id-name", DECLARED_NAMES[role])
    page.fill("#id-number", ID_NUMBERS[role])
    page.click("#id-submit")


def answer_consent(page: Page, given: bool) -> None:
    page.wait_for_selector("#step-consent:not([hidden])")
    page.wait_for_selector("#cs-version:not(:empty)")
    page.check(f'#cs-form input[name="given"][value="{"yes" if given else "no"}"]')
    page.click("#cs-submit")


def enter(page: Page) -> None:
    page.wait_for_selector("#step-ready:not([hidden])")
    page.click("#rd-enter")
    page.wait_for_url("**/live")


def join(page: Page, url: str, role: str, *, consent: bool = True, mode: str = "video") -> float:
    """From the link to the live page, as the seat's role requires; returns the start time."""
    started = open_link(page, url)
    pass_device_check(page, mode)
    if role in ("applicant", "respondent"):
        declare_identity(page, role)
        answer_consent(page, consent)
    enter(page)
    return started


def wait_location(page: Page, location: str, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "loc => document.querySelector('#live-app').dataset.location === loc",
        arg=location,
        timeout=timeout,
    )


def me(page: Page) -> int:
    page.wait_for_function("() => window.bilinLive && window.bilinLive.me() !== null")
    return int(page.evaluate("window.bilinLive.me().participant_id"))


def inbound(page: Page) -> dict[int, dict[str, int]]:
    """Frames decoded and audio samples received per participant, from getStats()."""
    raw: dict[str, dict[str, int]] = page.evaluate("window.bilinLive.inbound()")
    return {int(pid): counts for pid, counts in raw.items()}


# Growth that proves media flows: ~0.5 s of video at the fake camera's rate, 0.2 s of audio,
# and packets arriving (audio samples alone could be concealment).
VIDEO_GROWTH = 10
AUDIO_GROWTH = 9600
PACKET_GROWTH = 20

# getStats() is asynchronous and wait_for_function's predicate is not awaited: a poller in the
# page keeps the latest figures where a synchronous predicate can read them.
_POLLER = """async () => {
    if (window.__e2eStats) return;
    const tick = async () => {
        try {
            window.__e2eStats = await window.bilinLive.inbound();
            window.__e2eStatsAt = performance.now();
        } finally { setTimeout(tick, 100); }
    };
    await tick();
}"""


def watch(page: Page) -> float:
    """Start the page's stats poller (again after a reload); returns the page's clock, so a
    predicate can insist on figures taken after this moment."""
    page.wait_for_function("() => Boolean(window.bilinLive)")
    page.evaluate(_POLLER)
    return float(page.evaluate("performance.now()"))


def totals(page: Page) -> dict[str, int]:
    """All the page received on its subscribe connection, whatever it was for."""
    out: dict[str, int] = page.evaluate("window.bilinLive.totals()")
    return out


def wait_decoding(page: Page, participant_id: int, timeout: float = 30_000) -> dict[str, int]:
    """Wait until ``page`` decodes video AND audio from ``participant_id``, growing past what it
    had decoded when called; returns the counts reached."""
    watch(page)
    before = inbound(page).get(participant_id, {"video": 0, "audio": 0, "packets": 0})
    page.wait_for_function(
        """([pid, v0, a0, p0, dv, da, dp]) => {
            const s = window.__e2eStats[pid];
            return Boolean(s) && s.video >= v0 + dv && s.audio >= a0 + da && s.packets >= p0 + dp;
        }""",
        arg=[
            participant_id,
            before["video"],
            before["audio"],
            before["packets"],
            VIDEO_GROWTH,
            AUDIO_GROWTH,
            PACKET_GROWTH,
        ],
        polling=100,
        timeout=timeout,
    )
    return inbound(page)[participant_id]


def wait_first_frame(page: Page, timeout: float = 30_000) -> None:
    """Wait until any remote video frame has been decoded."""
    watch(page)
    page.wait_for_function(
        "() => Object.values(window.__e2eStats).some((s) => s.video > 0)",
        polling=50,
        timeout=timeout,
    )


def total_decoded(page: Page) -> dict[str, int]:
    """Everything ``page`` has decoded from anyone."""
    out = {"video": 0, "audio": 0, "screen": 0, "packets": 0}
    for counts in inbound(page).values():
        for key in out:
            out[key] += counts.get(key, 0)
    return out


def tiles_of(page: Page, participant_id: int) -> int:
    """How many camera tiles show ``participant_id``."""
    return int(
        page.evaluate(
            "pid => document.querySelectorAll(`.tile[data-participant-id='${pid}']"
            "[data-kind='camera']`).length",
            participant_id,
        )
    )


def evaluate(page: Page, script: str, arg: Any = None) -> Any:
    return page.evaluate(script, arg)
