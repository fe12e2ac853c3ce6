"""The Wuwei City demo data (``bilin demo``)."""

from __future__ import annotations

from typing import TextIO

from server.settings import Settings


async def load_demo(settings: Settings, out: TextIO) -> None:
    """Create the demo organisations, accounts and cases (idempotent)."""
    raise SystemExit("demo data not built yet")
