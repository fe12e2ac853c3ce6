"""The on-disk layout of an exported recording session (an evidence package), shared by the
export (which writes it) and ``bilin verify`` (which reads it).

A package is a zip file or a directory holding::

    manifest.json          the manifest's canonical bytes, exactly as signed
    manifest.sig           base64 of the Ed25519 signature of manifest.json
    manifest.tsr           DER RFC 3161 TimeStampToken over SHA-256(manifest.json) (optional)
    signer.pem             the signing organisation's public key (PEM)
    withheld.json          optional: {"sub_rooms": ["caucus-1", ...]} caucus rooms whose
                           tracks were left out because they are sealed (never "main")
    tracks/<track_id>/<segment_index:06d>.<webm|mp4>
                           every segment file listed in the manifest, byte for byte

Anything else (composite.mp4, audit.json, 索引.html, README...) is ignored by verify, except
further files under ``tracks/``, which are reported as extra segments.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
TIMESTAMP = "manifest.tsr"
SIGNER = "signer.pem"
WITHHELD = "withheld.json"
TRACKS_DIR = "tracks"

_SEGMENT = re.compile(r"^tracks/([0-9]+)/([0-9]{6})\.(webm|mp4)$")


def segment_path(track_id: int, segment_index: int, container: str) -> str:
    """The package path of a segment: ``tracks/<track_id>/<index:06d>.<container>``."""
    if container not in ("webm", "mp4"):
        raise ValueError(f"unknown container {container!r}")
    return f"{TRACKS_DIR}/{track_id}/{segment_index:06d}.{container}"


def parse_segment_path(path: str) -> tuple[int, int, str] | None:
    """``(track_id, index, container)`` of a segment path, None if it is not one."""
    match = _SEGMENT.match(path)
    if match is None:
        return None
    return int(match[1]), int(match[2]), match[3]


def withheld_json(sub_rooms: Iterable[str]) -> bytes:
    """The ``withheld.json`` naming sealed caucus rooms left out of the package."""
    rooms = sorted(set(sub_rooms))
    if "main" in rooms:
        raise ValueError("the main room is never withheld")
    return json.dumps({"sub_rooms": rooms}, ensure_ascii=False).encode("utf-8")


def seal_files(
    manifest_body: bytes, signature_b64: str, signer_pem: str, timestamp_der: bytes | None
) -> dict[str, bytes]:
    """The package's seal files (manifest, signature, signer key, time-stamp token)."""
    files = {
        MANIFEST: manifest_body,
        SIGNATURE: signature_b64.encode("ascii") + b"\n",
        SIGNER: signer_pem.encode("ascii"),
    }
    if timestamp_der is not None:
        files[TIMESTAMP] = timestamp_der
    return files


class PackageWriter:
    """Writes a package: a zip file when ``dest`` ends in ``.zip`` (segments stored, not
    deflated: they are compressed media already), else a directory."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self._zip: zipfile.ZipFile | None = None
        if dest.suffix == ".zip":
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._zip = zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED)
        else:
            dest.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, data: bytes) -> None:
        """Add ``data`` under the package path ``name``."""
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts:
            raise ValueError(f"not a package path: {name!r}")
        if self._zip is not None:
            self._zip.writestr(name, data)
            return
        target = self.dest.joinpath(*pure.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def close(self) -> None:
        """Finish the zip file (directories need nothing)."""
        if self._zip is not None:
            self._zip.close()


class PackageReader:
    """Read access to a package, whether a zip file or a directory. Paths are package paths
    (``/``-separated, relative); nothing outside the package is ever read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._zip: zipfile.ZipFile | None = None
        if root.is_file():
            self._zip = zipfile.ZipFile(root)

    def close(self) -> None:
        """Close the zip file, if any."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        """Every file in the package (package paths)."""
        if self._zip is not None:
            return [n for n in self._zip.namelist() if not n.endswith("/")]
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    def exists(self, name: str) -> bool:
        """Whether the package holds ``name``."""
        if self._zip is not None:
            try:
                self._zip.getinfo(name)
            except KeyError:
                return False
            return True
        return self._path(name).is_file()

    def read(self, name: str) -> bytes:
        """The bytes of ``name``; FileNotFoundError if absent."""
        if self._zip is not None:
            try:
                return self._zip.read(name)
            except KeyError:
                raise FileNotFoundError(name) from None
        return self._path(name).read_bytes()

    def chunks(self, name: str, size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of ``name`` in chunks (segments may be large)."""
        if self._zip is not None:
            try:
                handle = self._zip.open(name)
            except KeyError:
                raise FileNotFoundError(name) from None
            with handle:
                while chunk := handle.read(size):
                    yield chunk
            return
        with self._path(name).open("rb") as file:
            while chunk := file.read(size):
                yield chunk

    def _path(self, name: str) -> Path:
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts:
            raise FileNotFoundError(name)
        return self.root.joinpath(*pure.parts)
