"""The hash chain of a recording session's segments.

Each closed segment's SHA-256 is linked to the one closed before it in the same session, so
removing, reordering or altering any segment breaks every link after it. The link also covers
which track and where on the session clock the segment sits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

GENESIS = "0" * 64
"""The link before the first segment of every session."""

CHAIN_VERSION = "bilin-chain-v1"


@dataclass(frozen=True)
class ChainEntry:
    """What a link covers: a closed segment and its place."""

    session_id: int
    chain_index: int
    track_id: int
    segment_index: int
    start_ms: int
    end_ms: int
    sha256: str


def link(previous: str, entry: ChainEntry) -> str:
    """The chain hash after ``entry``, given the chain hash before it."""
    material = "|".join(
        (
            CHAIN_VERSION,
            previous,
            str(entry.session_id),
            str(entry.chain_index),
            str(entry.track_id),
            str(entry.segment_index),
            str(entry.start_ms),
            str(entry.end_ms),
            entry.sha256,
        )
    )
    return hashlib.sha256(material.encode("ascii")).hexdigest()


def file_sha256(data: bytes) -> str:
    """SHA-256 of a segment's bytes, as hex."""
    return hashlib.sha256(data).hexdigest()
