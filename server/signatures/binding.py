"""The canonical binding a signature or a seal covers, and signing it with an organisation's key.

Canonical form: JSON, keys sorted, UTF-8 (not ASCII-escaped), no insignificant whitespace
(``separators=(",", ":")``). ``bilin verify`` recomputes exactly these bytes from
``document.json`` and checks the Ed25519 signature over them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any, Protocol

BINDING_VERSION = 1


class Signer(Protocol):
    """What signs a binding: an organisation's key (``server.keys.OrgKey``)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def canonical_json(value: Any) -> bytes:
    """``value`` in the canonical form the signatures cover."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def session_hash(session_token: str | None) -> str:
    """The web session a signature was made in, as a hash (the token itself is a secret)."""
    return sha256_hex((session_token or "").encode("utf-8"))


def iso(at: dt.datetime) -> str:
    """A UTC time, as the bindings write it."""
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def signature_binding(
    *,
    document: dict[str, Any],
    signer: dict[str, Any],
    identity: dict[str, Any],
    method: str,
    image_sha256: str,
    signed_at: dt.datetime,
    session: str,
    key_id: str,
) -> dict[str, Any]:
    """What one signer's signature covers: the document (id, kind, version, sha256), who
    signed and how their identity was checked, the drawing's hash, the time and the session."""
    return {
        "v": BINDING_VERSION,
        "type": "signature",
        "document": document,
        "signer": signer,
        "identity": identity,
        "method": method,
        "image_sha256": image_sha256,
        "signed_at": iso(signed_at),
        "session": session,
        "key_id": key_id,
    }


def seal_binding(
    *,
    document: dict[str, Any],
    organisation: dict[str, Any],
    signature_hashes: list[str],
    sealed_at: dt.datetime,
    key_id: str,
) -> dict[str, Any]:
    """What a seal covers: the document's hash and the hash of every signature binding."""
    return {
        "v": BINDING_VERSION,
        "type": "seal",
        "document": document,
        "organisation": organisation,
        "signatures": signature_hashes,
        "sealed_at": iso(sealed_at),
        "key_id": key_id,
    }


def sign_binding(signer: Signer, binding: dict[str, Any]) -> tuple[str, str]:
    """The canonical text of ``binding`` and ``signer``'s signature over it (base64)."""
    text = canonical_json(binding)
    return text.decode("utf-8"), base64.b64encode(signer.sign(text)).decode("ascii")
