"""Free space where recordings are spooled (the live refusals and the visible stop are in
tests/signaling/test_live_recording.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from recording.diskguard import MB, free_space


def test_free_space_of_a_spool_not_made_yet(tmp_path: Path) -> None:
    spool = tmp_path / "recordings" / "not" / "yet"
    space = free_space(spool, 1)
    assert abs(space.free_mb - shutil.disk_usage(tmp_path).free // MB) <= 16
    assert space.enough


def test_a_minimum_above_the_free_space_is_not_enough(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free // MB
    assert not free_space(tmp_path, free + 10_000).enough
    assert free_space(tmp_path, 0).enough
