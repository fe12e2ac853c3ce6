"""Free disk space where recordings are spooled: refuse to start without room, and tell the
caller when it runs low while recording (so recording stops visibly, never silently)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class DiskSpace:
    """Free space of the spool's file system against the configured minimum."""

    free_mb: int
    min_free_mb: int

    @property
    def enough(self) -> bool:
        """Whether recording may start or go on."""
        return self.free_mb >= self.min_free_mb


def free_space(spool: Path, min_free_mb: int) -> DiskSpace:
    """Free megabytes on the file system holding ``spool`` (its nearest existing parent)."""
    path = spool
    while not path.exists() and path.parent != path:
        path = path.parent
    return DiskSpace(shutil.disk_usage(path).free // MB, min_free_mb)
