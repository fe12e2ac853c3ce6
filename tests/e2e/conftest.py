"""Real-browser tests: a real server on a free port (SQLite in a temp dir) started in a thread
of this process, and Debian's headless Chromium driven by Playwright.

The server is shared by the whole e2e session; each test schedules its own hearing (a new case
routed to the mediator and the court) and opens its participants' real invitation links, each
in its own browser context (its own cookies), so tests never see each other's people.
Playwright never downloads a browser here: it drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from server.app import create_app
from server.db.engine import create_engine, create_sessionmaker
from server.db.migrate import upgrade
from server.settings import Settings
from tests.server.test_hearings_support import Scheduled, routed_case, schedule
from tests.world import World, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """The app serving on ``url`` from a thread with its own event loop."""

    settings: Settings
    loop: asyncio.AbstractEventLoop
    world: World
    runner: web.AppRunner

    @property
    def url(self) -> str:
        return self.settings.base_url

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def schedule_hearing(self, **overrides: Any) -> Scheduled:
        """A new case and a mediation on it (mediator, applicant, respondent, judge) starting
        now, scheduled through the API; its links point at this server."""
        import datetime as dt

        async def run() -> Scheduled:
            async with aiohttp.ClientSession(
                base_url=self.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
            ) as http:
                case = await routed_case(http, self.world)  # type: ignore[arg-type]
                body = {"starts_at": dt.datetime.now(dt.UTC).isoformat(), **overrides}
                return await schedule(http, case, self.world, **body)  # type: ignore[arg-type]

        return self.call(run())

    def revoke(self, scheduled: Scheduled, role: str) -> None:
        """Revoke a participant's link through the API, as the mediator."""
        from tests.world import login

        async def run() -> None:
            async with aiohttp.ClientSession(
                base_url=self.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
            ) as http:
                csrf = await login(http, "lz_mediator")  # type: ignore[arg-type]
                path = (
                    f"/api/hearings/{scheduled.hearing_id}/participants/"
                    f"{scheduled.seats[role]}/invitation"
                )
                response = await http.delete(path, headers={"X-CSRF-Token": csrf})
                assert response.status == 204, await response.text()

        self.call(run())


@contextmanager
def serve(data_dir: Path) -> Iterator[LiveServer]:
    """The application on a free port of 127.0.0.1 (a secure context for getUserMedia), its
    data in ``data_dir``; also used by bench/join_time.py."""
    port = _free_port()
    settings = Settings(environment="test", data_dir=data_dir, host="127.0.0.1", port=port)
    upgrade(settings)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="e2e-server", daemon=True)
    thread.start()

    async def start() -> tuple[World, web.AppRunner]:
        engine = create_engine(settings)
        async with create_sessionmaker(engine)() as db:
            world = await build_world(db)
            await db.commit()
        await engine.dispose()
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        return world, runner

    world, runner = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    server = LiveServer(settings, loop, world, runner)
    yield server
    server.call(runner.cleanup())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The application on a free port of 127.0.0.1, shared by the e2e session."""
    with serve(tmp_path_factory.mktemp("e2e-server")) as server:
        yield server


# Per module, so Playwright's own event loop is gone before the rest of the suite's asyncio
# tests run.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium with fake camera and microphone (Playwright gives it a fresh
    profile directory)."""
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


class People:
    """Browser contexts opened by a test, one per person, closed at its end."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []

    def person(self, locale: str = "zh-CN", width: int = 1280, height: int = 800) -> Page:
        """A new person (their own cookies) with one page."""
        context = self.browser.new_context(
            locale=locale, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(browser: Browser, live_server: LiveServer) -> Iterator[People]:
    crowd = People(browser, live_server)
    yield crowd
    crowd.close()
