"""``/metrics``: this worker's figures in Prometheus' text format.

Read when scraped, from the live objects themselves (the media worker's counters, the live
hearings, the recording service), so nothing is counted twice and nothing is kept at module
level. Labels carry the worker id only: never names, tokens or ID numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.appkeys import LIVE, RECORDING, SETTINGS
from signaling.media import ClosedError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS = web.AppKey("metrics", CollectorRegistry)

# Extra figures other parts register (e.g. recording bytes and lag): name -> (help, reader).
ExtraGauge = tuple[str, Callable[[], float]]
EXTRA_GAUGES: web.AppKey[dict[str, ExtraGauge]] = web.AppKey("metrics_extra_gauges")


@dataclass
class _Rate:
    """Packets per second between two scrapes."""

    at: float = 0.0
    value: int = 0

    def update(self, value: int) -> float:
        now = time.monotonic()
        rate = (value - self.value) / (now - self.at) if self.at and now > self.at else 0.0
        self.at, self.value = now, value
        return max(0.0, rate)


class MediaCollector(Collector):
    """Rooms, participants and packet counters of this process's media worker."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._forward_rate = _Rate()

    def collect(self) -> Iterator[Metric]:
        """Called by the registry on every scrape."""
        worker_id = self._app[SETTINGS].worker_id
        labels = ["worker"]
        service = self._app.get(LIVE)
        try:
            media = service.worker if service is not None else None
        except ClosedError:  # not started yet, or stopping
            media = None
        rooms = media.rooms if media is not None else []
        participants = sum(len(room.participants) for room in rooms)
        info = GaugeMetricFamily("bilin_worker_info", "This worker (value 1).", labels=labels)
        info.add_metric([worker_id], 1)
        yield info
        for name, help_text, value in (
            ("bilin_rooms", "Hearing rooms held by this worker.", len(rooms)),
            ("bilin_participants", "Participants connected to this worker's rooms.", participants),
            (
                "bilin_live_connections",
                "socket.io connections of live hearings.",
                len(service.connections) if service is not None else 0,
            ),
        ):
            gauge = GaugeMetricFamily(name, help_text, labels=labels)
            gauge.add_metric([worker_id], value)
            yield gauge
        if media is None:
            return
        totals = media.totals()
        counters = (
            (
                "bilin_media_received_packets",
                "RTP packets received from publishers.",
                "received_packets",
            ),
            (
                "bilin_media_lost_packets",
                "Packets publishers sent that never arrived.",
                "lost_packets",
            ),
            (
                "bilin_media_forwarded_packets",
                "RTP packets forwarded to subscribers.",
                "forwarded_packets",
            ),
            (
                "bilin_media_forwarded_bytes",
                "Payload bytes forwarded to subscribers.",
                "forwarded_octets",
            ),
            (
                "bilin_media_dropped_packets",
                "Packets not forwarded (send errors).",
                "dropped_packets",
            ),
            (
                "bilin_media_retransmitted_packets",
                "Packets resent after NACKs.",
                "retransmitted_packets",
            ),
            ("bilin_media_nacks_received", "NACKs received from subscribers.", "nacks_received"),
            ("bilin_media_nacks_sent", "NACKs sent to publishers.", "nacks_sent"),
            (
                "bilin_media_plis_received",
                "Keyframe requests from subscribers.",
                "keyframe_requests_received",
            ),
            (
                "bilin_media_plis_sent",
                "Keyframe requests sent to publishers.",
                "keyframe_requests_sent",
            ),
        )
        for name, help_text, field in counters:
            counter = CounterMetricFamily(name, help_text, labels=labels)
            counter.add_metric([worker_id], getattr(totals, field))
            yield counter
        rate = GaugeMetricFamily(
            "bilin_media_forwarded_packets_per_second",
            "Forwarded packets per second since the previous scrape.",
            labels=labels,
        )
        rate.add_metric([worker_id], self._forward_rate.update(totals.forwarded_packets))
        yield rate
        expected = totals.received_packets + totals.lost_packets
        loss = GaugeMetricFamily(
            "bilin_media_upstream_loss_ratio",
            "Share of publishers' packets lost on the way in, since start.",
            labels=labels,
        )
        loss.add_metric([worker_id], totals.lost_packets / expected if expected else 0.0)
        yield loss
        recordings = self._app.get(RECORDING)
        if recordings is not None:
            figures = [r.figures() for r in list(recordings.recorders.values())]
            for name, help_text, value in (
                ("bilin_recordings_active", "Hearings being recorded here.", len(figures)),
                (
                    "bilin_recording_bytes_written",
                    "Bytes written by the tracks being recorded now.",
                    sum(f[0] for f in figures),
                ),
                (
                    "bilin_recording_backlog_packets",
                    "Packets received but not yet written (recording lag).",
                    sum(f[1] for f in figures),
                ),
                (
                    "bilin_recording_pending_db_writes",
                    "Segment and timeline rows waiting to be written.",
                    sum(f[2] for f in figures),
                ),
            ):
                gauge = GaugeMetricFamily(name, help_text, labels=labels)
                gauge.add_metric([worker_id], value)
                yield gauge
            flusher = recordings.flusher
            for name, help_text, seconds in (
                (
                    "bilin_recording_framing_cpu_seconds",
                    "CPU time the event loop spent assembling and framing recorded media.",
                    flusher.frame_seconds,
                ),
                (
                    "bilin_recording_file_cpu_seconds",
                    "CPU time the writer thread spent writing, hashing and closing files.",
                    flusher.file_seconds,
                ),
            ):
                counter = CounterMetricFamily(name, help_text, labels=labels)
                counter.add_metric([worker_id], seconds)
                yield counter
        for name, (help_text, reader) in self._app.get(EXTRA_GAUGES, {}).items():
            gauge = GaugeMetricFamily(name, help_text, labels=labels)
            gauge.add_metric([worker_id], reader())
            yield gauge


def setup_metrics(app: web.Application) -> None:
    """Serve ``GET /metrics`` from a registry of this app (process CPU and memory included)."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    registry.register(MediaCollector(app))
    app[METRICS] = registry
    app[EXTRA_GAUGES] = {}
    app.router.add_get("/metrics", metrics_view)


async def metrics_view(request: web.Request) -> web.Response:
    """The figures, in Prometheus' text exposition format."""
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
