"""Ed25519 signing keys of the organisations that sign: centres (every level) and courts.

A key is made on first start for every centre and court (:func:`ensure_keys`) and otherwise
on first use (:func:`signing_key`). It lives in the database (``signing_keys``) so that every
process of a deployment signs with the same key; the private half is encrypted with AES-GCM
under a key derived with HKDF-SHA256 from ``settings.secret_key``. Changing the secret key
therefore makes stored keys unusable: :class:`KeyUnavailable` says so rather than silently
making a new key (which would disown everything signed before).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.organisation import Organisation
from server.db.signing import SigningKey
from server.settings import Settings
from server.vocabulary import CENTRE_KINDS, OrgKind

logger = logging.getLogger(__name__)

SIGNING_KINDS: tuple[OrgKind, ...] = (*CENTRE_KINDS, OrgKind.COURT)
"""Organisations that sign: centres of every level and courts."""

_HKDF_INFO = b"bilin signing-key wrap v1"
_NONCE_BYTES = 12


class KeyUnavailable(RuntimeError):
    """The organisation cannot sign: it does not sign, or its stored key cannot be decrypted
    with this server's secret key."""


@dataclass(frozen=True)
class OrgKey:
    """An organisation's signing key, ready to sign."""

    organisation_id: int
    organisation_code: str
    organisation_name: str
    key_id: str
    """Fingerprint: SHA-256 of the raw 32-byte public key, hex."""
    public_pem: str
    _private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex (the key id)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_pem(public_pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key in ``public_pem``; ValueError if it is not one."""
    key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def pem_fingerprint(public_pem: str) -> str:
    """The key id of a PEM public key."""
    return fingerprint(load_public_pem(public_pem))


def verify_signature(public_pem: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``public_pem``'s Ed25519 signature of ``data``."""
    try:
        load_public_pem(public_pem).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def _wrapping_key(settings: Settings) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        settings.secret_key.encode("utf-8")
    )
    return AESGCM(derived)


def _aad(organisation_id: int, key_id: str) -> bytes:
    # Binds the ciphertext to its row: a key copied to another organisation will not open.
    return f"bilin-signing-key|{organisation_id}|{key_id}".encode("ascii")


def _seal_private(settings: Settings, organisation_id: int, key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(_NONCE_BYTES)
    key_id = fingerprint(key.public_key())
    ciphertext = _wrapping_key(settings).encrypt(nonce, raw, _aad(organisation_id, key_id))
    return base64.b64encode(nonce + ciphertext).decode("ascii")


def _open_private(settings: Settings, row: SigningKey) -> Ed25519PrivateKey:
    blob = base64.b64decode(row.private_key_encrypted)
    try:
        raw = _wrapping_key(settings).decrypt(
            blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(row.organisation_id, row.fingerprint)
        )
    except InvalidTag:
        raise KeyUnavailable(
            f"the signing key of organisation {row.organisation_id} cannot be decrypted: "
            "was BILIN_SECRET_KEY changed?"
        ) from None
    private = Ed25519PrivateKey.from_private_bytes(raw)
    if fingerprint(private.public_key()) != row.fingerprint:
        raise KeyUnavailable(f"the signing key of organisation {row.organisation_id} is damaged")
    return private


async def _key_row(db: AsyncSession, settings: Settings, org: Organisation) -> SigningKey:
    """The organisation's key row, made if missing (safe when several processes race)."""
    row = await db.scalar(select(SigningKey).where(SigningKey.organisation_id == org.id))
    if row is not None:
        return row
    if org.kind not in SIGNING_KINDS:
        raise KeyUnavailable(f"organisation {org.code} ({org.kind}) does not sign")
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    candidate = SigningKey(
        organisation_id=org.id,
        public_pem=pem,
        fingerprint=fingerprint(public),
        private_key_encrypted=_seal_private(settings, org.id, private),
    )
    try:
        async with db.begin_nested():
            db.add(candidate)
    except IntegrityError:
        # Another process made it first: use theirs.
        row = await db.scalar(select(SigningKey).where(SigningKey.organisation_id == org.id))
        if row is None:
            raise
        return row
    logger.info("made signing key %s for organisation %s", candidate.fingerprint[:16], org.code)
    return candidate


async def signing_key(db: AsyncSession, settings: Settings, org_id: int) -> OrgKey:
    """The signing key of organisation ``org_id``, made on first use. The caller commits
    (a key made here is only flushed). :class:`KeyUnavailable` if the organisation does not
    sign or its key cannot be opened."""
    org = await db.get(Organisation, org_id)
    if org is None:
        raise KeyUnavailable(f"no organisation {org_id}")
    row = await _key_row(db, settings, org)
    return OrgKey(
        organisation_id=org.id,
        organisation_code=org.code,
        organisation_name=org.name,
        key_id=row.fingerprint,
        public_pem=row.public_pem,
        _private=_open_private(settings, row),
    )


async def ensure_keys(db: AsyncSession, settings: Settings) -> int:
    """Make the missing keys of every centre and court; how many were made. Commits."""
    orgs = (
        await db.scalars(
            select(Organisation)
            .outerjoin(SigningKey, SigningKey.organisation_id == Organisation.id)
            .where(Organisation.kind.in_(SIGNING_KINDS), SigningKey.id.is_(None))
            .order_by(Organisation.id)
        )
    ).all()
    for org in orgs:
        await _key_row(db, settings, org)
    await db.commit()
    return len(orgs)


@dataclass(frozen=True)
class PublicKey:
    """An organisation's public key as shown on the keys page."""

    organisation_id: int
    code: str
    name: str
    kind: OrgKind
    key_id: str
    public_pem: str


async def public_keys(db: AsyncSession) -> list[PublicKey]:
    """Every registered public key, by organisation code."""
    rows = await db.execute(
        select(Organisation, SigningKey)
        .join(SigningKey, SigningKey.organisation_id == Organisation.id)
        .order_by(Organisation.code)
    )
    return [
        PublicKey(org.id, org.code, org.name, org.kind, key.fingerprint, key.public_pem)
        for org, key in rows.all()
    ]


async def public_key_by_code(db: AsyncSession, code: str) -> PublicKey | None:
    """The public key of the organisation with ``code``, if it has one."""
    row = (
        await db.execute(
            select(Organisation, SigningKey)
            .join(SigningKey, SigningKey.organisation_id == Organisation.id)
            .where(Organisation.code == code)
        )
    ).first()
    if row is None:
        return None
    org, key = row
    return PublicKey(org.id, org.code, org.name, org.kind, key.fingerprint, key.public_pem)


async def registered_key(db: AsyncSession, key_id: str) -> PublicKey | None:
    """The organisation whose registered key has fingerprint ``key_id``, if any."""
    row = (
        await db.execute(
            select(Organisation, SigningKey)
            .join(SigningKey, SigningKey.organisation_id == Organisation.id)
            .where(SigningKey.fingerprint == key_id)
        )
    ).first()
    if row is None:
        return None
    org, key = row
    return PublicKey(org.id, org.code, org.name, org.kind, key.fingerprint, key.public_pem)


def run_keys_command(settings: Settings, action: str, code: str | None) -> int:
    """``bilin keys list`` / ``bilin keys export ORG_CODE`` (prints the PEM). Exit 0, or 1
    when the organisation has no key."""
    import asyncio
    import sys

    from server.db.engine import create_engine, create_sessionmaker

    async def run() -> int:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as db:
                await ensure_keys(db, settings)
                if action == "list":
                    for key in await public_keys(db):
                        print(f"{key.code}\t{key.key_id}\t{key.name}")
                    return 0
                found = await public_key_by_code(db, code or "")
                if found is None:
                    print(f"bilin: organisation {code} has no signing key", file=sys.stderr)
                    return 1
                sys.stdout.write(found.public_pem)
                return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())
