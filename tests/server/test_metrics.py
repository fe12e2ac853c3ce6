"""``/metrics``: this worker's rooms, participants and media counters in Prometheus' format,
with the worker's id as the only label (no names, tokens or ID numbers)."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from server.appkeys import LIVE, SETTINGS
from signaling.media import MediaTotals, ParticipantStats, PublishedTrackStats
from tests.world import World

Client = TestClient  # type: ignore[type-arg]


def _values(text: str) -> dict[str, float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = sample.value
    return values


async def test_metrics_show_rooms_participants_and_process_figures(
    client: Client, world: World
) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    values = _values(text)
    assert values["bilin_rooms"] == 0
    assert values["bilin_participants"] == 0
    assert values["bilin_media_forwarded_packets_total"] == 0
    assert values["bilin_recordings_active"] == 0
    assert values["bilin_recording_backlog_packets"] == 0
    assert values["bilin_recording_framing_cpu_seconds_total"] == 0
    assert values["bilin_recording_file_cpu_seconds_total"] == 0
    assert values["process_cpu_seconds_total"] > 0
    worker = client.app[SETTINGS].worker_id
    assert f'bilin_worker_info{{worker="{worker}"}} 1.0' in text
    # The only label anywhere is the worker's id.
    labels = set(re.findall(r"[{,]([a-z_]+)=", text))
    assert labels <= {"worker"}


async def test_counters_keep_what_departed_participants_forwarded(
    client: Client, world: World
) -> None:
    media = client.app[LIVE].worker
    room = media.room("77")
    stats = ParticipantStats(
        participant_id="1",
        publish_state="connected",
        subscribe_state="connected",
        published=(
            PublishedTrackStats(
                "t", "camera", "video", False, 900, 1_000_000, 100, 0, 3, 2, 500_000, 1.0
            ),
        ),
    )
    room.retired.add(stats)
    values = _values(await (await client.get("/metrics")).text())
    assert values["bilin_rooms"] == 1
    assert values["bilin_media_received_packets_total"] == 900
    assert values["bilin_media_lost_packets_total"] == 100
    assert values["bilin_media_upstream_loss_ratio"] == 0.1
    assert values["bilin_media_plis_sent_total"] == 2
    assert media.totals() == MediaTotals(
        received_packets=900, lost_packets=100, nacks_sent=3, keyframe_requests_sent=2
    )
    await room.close()
