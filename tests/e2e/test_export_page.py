"""The export page in Chromium: the mediator starts an evidence package; the progress bar
fills as the job runs (no reload), the status line announces the steps, and the download link
appears when it is done; the zip it serves verifies."""

from __future__ import annotations

import zipfile
from pathlib import Path

from recording.verify import verify_package
from server.db.engine import create_engine, create_sessionmaker
from tests.e2e.conftest import LiveServer, People
from tests.recording.fabricate import RecordedSession, make_recorded_session
from tests.recording.test_composite import single_threaded_vp8  # noqa: F401 (autouse)
from tests.world import PASSWORD


def fabricate(server: LiveServer) -> RecordedSession:
    """A short two-party session with a caucus room (kept out of the court's package)."""

    async def run() -> RecordedSession:
        engine = create_engine(server.settings)
        try:
            async with create_sessionmaker(engine)() as db:
                recorded = await make_recorded_session(
                    db,
                    server.world,
                    server.settings.data_dir / "recordings",
                    parties=2,
                    seconds=6,
                    segment_seconds=3,
                    caucus_seconds=2,
                    width=160,
                    height=120,
                )
                await db.commit()
                return recorded
        finally:
            await engine.dispose()

    return server.call(run())


def test_export_progress_bar_fills_and_offers_the_download(
    live_server: LiveServer, people: People, tmp_path: Path
) -> None:
    recorded = fabricate(live_server)
    page = people.person(width=390, height=844)  # a phone's width
    page.goto(f"{live_server.url}/login?next=/recordings/{recorded.session_id}/export")
    page.fill("#username", "lz_mediator")
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**/recordings/{recorded.session_id}/export")
    assert page.locator("#export-sealed").is_visible()  # the mediator may seal
    page.get_by_role("button", name="生成证据包").click()
    page.wait_for_url(f"**/recordings/{recorded.session_id}/export")

    bar = page.locator(".job-progress progress").first
    assert bar.is_visible()
    # The page follows the job by itself: the bar reaches 100 and the download appears.
    page.wait_for_function(
        "() => document.querySelector('.job-progress progress').value === 100"
        " && !document.querySelector('[data-download-for]').hidden",
        timeout=60_000,
    )
    status = page.locator(".job-progress [role=status]").first
    assert status.get_attribute("aria-live") == "polite"
    assert "已完成" in status.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载").first.click()
    target = tmp_path / "package.zip"
    download.value.save_as(target)
    assert download.value.suggested_filename.startswith("证据包-")
    with zipfile.ZipFile(target) as archive:
        assert "composite.mp4" in archive.namelist()
    report = verify_package(target)
    assert report.ok, report.summary()
