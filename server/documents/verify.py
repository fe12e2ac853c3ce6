"""``bilin verify`` for signed document bundles (see ``server.signatures.bundle``): the content
against its SHA-256, every signature and seal against its signer's public key, each binding
against the document's hash, each drawing against its hash, each seal's list of signatures.
Every failure is one line naming the signature, seal or file."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.keys import pem_fingerprint, verify_signature


@dataclass
class DocumentVerifyReport:
    """What was checked (``notes``) and what fails (``problems``)."""

    subject: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Intact: nothing failed."""
        return not self.problems

    def summary(self) -> str:
        """Lines to print."""
        head = "完整无误 / INTACT" if self.ok else "校验失败 / FAILED"
        lines = [f"{head}: {self.subject}"]
        lines += [f"  {p}" for p in self.problems] + [f"  {n}" for n in self.notes]
        return "\n".join(lines)


Reader = Callable[[str], bytes | None]


def _reader(path: Path) -> Reader:
    if path.is_dir():

        def read_dir(name: str) -> bytes | None:
            target = (path / name).resolve()
            if path.resolve() not in target.parents or not target.is_file():
                return None
            return target.read_bytes()

        return read_dir
    archive = zipfile.ZipFile(path)
    names = set(archive.namelist())

    def read_zip(name: str) -> bytes | None:
        return archive.read(name) if name in names else None

    return read_zip


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_signed(
    report: DocumentVerifyReport,
    read: Reader,
    label: str,
    entry: dict[str, Any],
    document_sha: str,
) -> dict[str, Any] | None:
    """Check one signed binding (a signature or a seal); its parsed binding if it verifies."""
    text = str(entry.get("binding", ""))
    pem_bytes = read(str(entry.get("signer_pem", "")))
    if pem_bytes is None:
        report.problems.append(f"{label}: signer key {entry.get('signer_pem')} missing")
        return None
    pem = pem_bytes.decode("ascii", "replace")
    try:
        key_id = pem_fingerprint(pem)
    except ValueError:
        report.problems.append(f"{label}: signer key is not an Ed25519 public key")
        return None
    try:
        signature = base64.b64decode(str(entry.get("server_signature", "")), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not verify_signature(pem, text.encode("utf-8"), signature):
        report.problems.append(f"{label}: signature invalid (binding or signature changed)")
        return None
    binding: dict[str, Any] = json.loads(text)
    if binding.get("key_id") != key_id or entry.get("key_id") != key_id:
        report.problems.append(f"{label}: signed by key {key_id[:16]}, not the key it names")
        return None
    bound = binding.get("document", {}).get("sha256")
    if bound != document_sha:
        report.problems.append(
            f"{label}: bound to another text (SHA-256 {str(bound)[:12]}…, document "
            f"{document_sha[:12]}…)"
        )
        return None
    return binding


def verify_document_bundle(path: Path | str) -> DocumentVerifyReport:
    """Verify the bundle at ``path`` (a directory or a zip holding ``document.json``)."""
    path = Path(path)
    report = DocumentVerifyReport(subject=f"document bundle {path}")
    try:
        read = _reader(path)
        raw = read("document.json")
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"{path}: cannot be read ({exc})")
        return report
    if raw is None:
        report.problems.append("document.json: missing")
        return report
    try:
        body = json.loads(raw)
        document = body["document"]
        document_sha = str(document["sha256"])
    except (ValueError, KeyError, TypeError):
        report.problems.append("document.json: not a document bundle")
        return report
    content = read(str(document.get("content", "document.html")))
    if content is None:
        report.problems.append("document.html: missing")
    elif _sha(content) != document_sha:
        report.problems.append(
            f"document.html: SHA-256 mismatch ({_sha(content)[:12]}…, document.json says "
            f"{document_sha[:12]}…)"
        )
    else:
        report.notes.append(f"{document.get('kind')} v{document.get('version')}: {document_sha}")
    binding_hashes: list[str] = []
    for entry in body.get("signatures", []):
        label = f"signature #{entry.get('id')} ({entry.get('signer', '')})"
        binding = _check_signed(report, read, label, entry, document_sha)
        binding_hashes.append(_sha(str(entry.get("binding", "")).encode("utf-8")))
        if binding is None:
            continue
        image_name = entry.get("image")
        if image_name:
            image = read(str(image_name))
            if image is None:
                report.problems.append(f"{label}: image {image_name} missing")
                continue
            if _sha(image) != binding.get("image_sha256"):
                report.problems.append(f"{label}: image {image_name} SHA-256 mismatch")
                continue
        report.notes.append(f"{label}: valid, signed {binding.get('signed_at')}")
    for entry in body.get("seals", []):
        label = f"seal #{entry.get('id')}"
        binding = _check_signed(report, read, label, entry, document_sha)
        if binding is None:
            continue
        sealed = list(binding.get("signatures", []))
        missing = [h for h in sealed if h not in binding_hashes]
        if missing:
            report.problems.append(
                f"{label}: covers {len(missing)} signature(s) not in the bundle or changed"
            )
            continue
        organisation = binding.get("organisation", {}).get("name", "")
        report.notes.append(f"{label}: valid, {organisation}, sealed {binding.get('sealed_at')}")
    return report
