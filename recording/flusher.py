"""The one task that writes every track recorder's queued packets, every flush interval.

A media worker records up to a few dozen tracks at once. Each :class:`TrackRecorder` only
queues packets on the forwarding path; this flusher, once per ``interval`` (0.5 s), takes
every recorder's queue, has each frame it on the event loop, and then does all their file
work (write, hash, close) in **one** hop to a thread, where it runs without the GIL. One
wake-up and one thread hop per interval for the whole worker, instead of one per track, was
a measurable share of what recording cost (bench/recording.md).

A recorder's events (segment opened, closed, failed) are dispatched back on the loop, in
order, after its batch's file work. :meth:`RecordingFlusher.wake` makes the next round come
at once (a recorder stopping waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

logger = logging.getLogger(__name__)

FileWork = Callable[[], object]
"""A batch's file work, run in the writer thread; returns what ``finish_batch`` takes."""


class FlushedRecorder(Protocol):
    """What the flusher asks of a recorder (:class:`recording.track_recorder.TrackRecorder`)."""

    def prepare_batch(self) -> FileWork | None:
        """Take the queue and frame it (on the loop); the file work left, or ``None``."""
        ...

    async def finish_batch(self, result: object) -> None:
        """Back on the loop with the file work's result: report what happened."""
        ...


def _run_all(work: Sequence[FileWork]) -> tuple[list[object], float]:
    started = time.thread_time()
    results = [item() for item in work]
    return results, time.thread_time() - started


class RecordingFlusher:
    """Flushes the recorders added to it every ``interval`` seconds.

    ``offload=False`` does the file work on the loop (for measuring only). The task starts
    with the first :meth:`add`; whoever made the flusher stops it (:meth:`stop`).
    """

    def __init__(self, interval: float = 0.5, *, offload: bool = True) -> None:
        self.interval = interval
        self.offload = offload
        self._recorders: dict[FlushedRecorder, None] = {}  # an ordered set
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()
        self._stopping = False
        self.frame_seconds = 0.0
        """CPU time on the event loop taking the queues and framing them."""
        self.file_seconds = 0.0
        """CPU time of the file work (in the writer thread, or on the loop if not offloaded)."""

    @property
    def running(self) -> bool:
        """Whether the flusher's task is running."""
        return self._task is not None and not self._task.done()

    def add(self, recorder: FlushedRecorder) -> None:
        """Flush ``recorder`` from the next round on (starts the task if needed)."""
        self._recorders[recorder] = None
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recording flusher")

    def discard(self, recorder: FlushedRecorder) -> None:
        """Stop flushing ``recorder``."""
        self._recorders.pop(recorder, None)

    def wake(self) -> None:
        """Run the next round now rather than at the end of the interval."""
        self._wake.set()

    async def flush(self, recorders: Sequence[FlushedRecorder] | None = None) -> None:
        """One round: every recorder's batch framed, their file work in one thread hop,
        then each recorder's events. Rounds never overlap."""
        async with self._flushing:
            started = time.thread_time()
            work: list[tuple[FlushedRecorder, FileWork]] = []
            for recorder in list(self._recorders) if recorders is None else recorders:
                try:
                    item = recorder.prepare_batch()
                except Exception:
                    logger.exception("recorder %s failed to frame its batch", recorder)
                    continue
                if item is not None:
                    work.append((recorder, item))
            self.frame_seconds += time.thread_time() - started
            if not work:
                return
            items = [item for _, item in work]
            if self.offload:
                results, file_seconds = await asyncio.to_thread(_run_all, items)
            else:
                results, file_seconds = _run_all(items)
            self.file_seconds += file_seconds
            for (recorder, _), result in zip(work, results, strict=True):
                try:
                    await recorder.finish_batch(result)
                except Exception:
                    logger.exception("recorder %s failed to report its batch", recorder)

    async def stop(self) -> None:
        """End the task after one last round (a round in progress is never cut short: its
        file work is done in a thread, and its events must still be reported)."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await task
        finally:
            self._task = None
            self._stopping = False

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                logger.exception("recording flush failed")
