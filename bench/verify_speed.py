"""How long ``bilin verify`` takes on an evidence package, scaled from the size of a real
session: four parties, each with a camera (VP8 360p at ~500 kbit/s) and a microphone (Opus at
~32 kbit/s), in 10-second segments, for ``--minutes`` of session. Segment contents are random
bytes of those sizes: verify only hashes them, it never decodes. The manifest is signed and
hash-chained as ``seal_session`` makes it. Compared with ``sha256sum`` over the same files,
which is the least any check of every byte costs.

    .venv/bin/python -m bench.verify_speed --minutes 15
"""

from __future__ import annotations

import argparse
import base64
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recording import package_layout as layout
from recording.chain import CHAIN_VERSION, GENESIS, ChainEntry, file_sha256, link
from recording.manifest import FORMAT, canonical
from recording.verify import verify_package
from server.keys import fingerprint

SEGMENT_S = 10
VIDEO_BYTES = 500_000 // 8 * SEGMENT_S
AUDIO_BYTES = 32_000 // 8 * SEGMENT_S


def make_package(root: Path, minutes: int, parties: int) -> tuple[int, int]:
    """Write a signed package; (segment files, bytes)."""
    key = Ed25519PrivateKey.generate()
    segments: list[dict[str, Any]] = []
    tracks: list[dict[str, Any]] = []
    count = minutes * 60 // SEGMENT_S
    total = 0
    head, chain_index = GENESIS, 0
    for party in range(parties):
        for kind, size in (("video", VIDEO_BYTES), ("audio", AUDIO_BYTES)):
            track_id = len(tracks) + 1
            tracks.append(
                {"id": track_id, "participant_id": party + 1, "sub_room": "main", "kind": kind}
                | {"container": "webm", "start_ms": 0, "end_ms": count * SEGMENT_S * 1000}
            )
            for index in range(count):
                data = os.urandom(size)
                path = layout.segment_path(track_id, index, "webm")
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(data)
                total += size
                sha = file_sha256(data)
                start, end = index * SEGMENT_S * 1000, (index + 1) * SEGMENT_S * 1000
                head = link(head, ChainEntry(1, chain_index, track_id, index, start, end, sha))
                segments.append(
                    {"track_id": track_id, "index": index, "file": path, "start_ms": start}
                    | {"end_ms": end, "bytes": size, "sha256": sha, "status": "closed"}
                    | {"chain_index": chain_index, "chain_hash": head}
                )
                chain_index += 1
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "session": {"id": 1},
        "tracks": tracks,
        "segments": segments,
        "chain": {
            "version": CHAIN_VERSION,
            "genesis": GENESIS,
            "head": head,
            "length": chain_index,
        },
        "signer": {"key_id": fingerprint(key.public_key()), "algorithm": "Ed25519"},
    }
    body = canonical(document)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signature = base64.b64encode(key.sign(body)).decode()
    for name, data in layout.seal_files(body, signature, pem.decode(), None).items():
        (root / name).write_bytes(data)
    return len(segments), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--parties", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bilin-verify-") as tmp:
        root = Path(tmp) / "pkg"
        files, total = make_package(root, args.minutes, args.parties)
        # Both read the files just written, from the page cache.
        started = time.perf_counter()
        report = verify_package(root)
        verify_s = time.perf_counter() - started
        assert report.ok, report.problems
        sha256sum = shutil.which("sha256sum")
        started = time.perf_counter()
        if sha256sum:
            listing = [str(p) for p in (root / "tracks").rglob("*.webm")]
            subprocess.run([sha256sum, *listing], stdout=subprocess.DEVNULL, check=True)
        baseline_s = time.perf_counter() - started
    mb = total / 1e6
    per_hour = verify_s * 60 / args.minutes
    print(f"command: {shlex.join([sys.executable, '-m', 'bench.verify_speed', *sys.argv[1:]])}")
    print(f"{'what':<32} {'value':>12}")
    print(f"{'session minutes, parties':<32} {f'{args.minutes}, {args.parties}':>12}")
    print(f"{'segment files':<32} {files:>12}")
    print(f"{'package MB':<32} {mb:>12.1f}")
    print(f"{'bilin verify s':<32} {verify_s:>12.2f}")
    print(f"{'bilin verify MB/s':<32} {mb / verify_s:>12.0f}")
    print(f"{'sha256sum same files s':<32} {baseline_s:>12.2f}")
    print(f"{'verify, 1 h session (scaled) s':<32} {per_hour:>12.1f}")


if __name__ == "__main__":
    main()
