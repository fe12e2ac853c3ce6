"""RFC 3161 time-stamps of manifests.

With ``BILIN_TSA_URL`` set, each sealed manifest's SHA-256 is sent to the time-stamp authority
as a ``TimeStampReq`` (with a random nonce, asking for the TSA's certificate); the answer is
accepted only if it is granted, its message imprint is that SHA-256, its nonce is ours, and
the CMS signature over the ``TSTInfo`` checks out with the certificate in the token. When the
authority cannot be reached the manifest says ``unreachable`` and :class:`RetryLoop` (owned by
the app) asks again every ``tsa_retry_s`` seconds.

Trust in the TSA's certificate itself (its chain to a root) is the reader's business: verify
prints who signed the token and when.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

import aiohttp
from asn1crypto import cms, tsp, x509  # type: ignore[import-untyped]
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.db.signing import RecordingManifest, TimestampStatus
from server.settings import Settings

logger = logging.getLogger(__name__)

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
    "sha1": hashes.SHA1(),  # noqa: S303 (older TSAs still sign with it; the imprint is SHA-256)
}


class TimestampError(ValueError):
    """A time-stamp response or token that does not hold; the message says why."""


class TsaUnreachable(ConnectionError):
    """The time-stamp authority did not answer usefully."""


@dataclass(frozen=True)
class TokenInfo:
    """What a checked token says."""

    gen_time: dt.datetime
    serial_number: int
    tsa_subject: str
    policy: str


def make_request(digest: bytes, nonce: int) -> bytes:
    """DER ``TimeStampReq`` for a SHA-256 ``digest``."""
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return bytes(request.dump())


def token_from_response(response_der: bytes) -> bytes:
    """The DER ``TimeStampToken`` in a granted ``TimeStampResp``."""
    try:
        response = tsp.TimeStampResp.load(response_der)
        status = response["status"]["status"].native
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"not a time-stamp response: {exc}") from None
    if status not in ("granted", "granted_with_mods"):
        text = response["status"]["status_string"].native
        raise TimestampError(f"time-stamp refused: {status} {text or ''}".strip())
    token = response["time_stamp_token"]
    if not isinstance(token, cms.ContentInfo) or token.native is None:
        raise TimestampError("time-stamp response has no token")
    return bytes(token.dump())


def check_token(token_der: bytes, digest: bytes, nonce: int | None = None) -> TokenInfo:
    """Check a ``TimeStampToken`` against the SHA-256 ``digest`` it should cover (and the
    nonce, when we asked for it): imprint, nonce, content-type and message-digest attributes,
    and the signature with the certificate carried in the token."""
    try:
        info = cms.ContentInfo.load(token_der)
        if info["content_type"].native != "signed_data":
            raise TimestampError("time-stamp token is not CMS signed data")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("time-stamp token does not hold a TSTInfo")
        tst_der = bytes(encap["content"].contents)
        tst = tsp.TSTInfo.load(tst_der)
        imprint = tst["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256":
            raise TimestampError("time-stamp imprint is not SHA-256")
        if imprint["hashed_message"].native != digest:
            raise TimestampError("time-stamp imprint does not match the manifest's SHA-256")
        if nonce is not None and tst["nonce"].native != nonce:
            raise TimestampError("time-stamp nonce differs from the request's")
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise TimestampError("time-stamp token must have exactly one signer")
        signer = signer_infos[0]
        digest_name = signer["digest_algorithm"]["algorithm"].native
        algorithm = _HASHES.get(digest_name)
        if algorithm is None:
            raise TimestampError(f"time-stamp digest {digest_name} not supported")
        attrs = signer["signed_attrs"]
        if not attrs:
            raise TimestampError("time-stamp token has no signed attributes")
        values = {attr["type"].native: attr["values"][0].native for attr in attrs}
        if values.get("content_type") != "tst_info":
            raise TimestampError("time-stamp content-type attribute is not TSTInfo")
        h = hashes.Hash(algorithm)
        h.update(tst_der)
        if values.get("message_digest") != h.finalize():
            raise TimestampError("time-stamp message-digest attribute does not match TSTInfo")
        cert = _signer_certificate(signed, signer)
        # The signature covers the DER of the attributes as a SET OF (tag 0x31), not [0].
        attrs_der = b"\x31" + bytes(attrs.dump())[1:]
        _verify(cert, signer["signature"].native, attrs_der, algorithm)
        return TokenInfo(
            gen_time=tst["gen_time"].native,
            serial_number=int(tst["serial_number"].native),
            tsa_subject=cert.subject.rfc4514_string(),
            policy=str(tst["policy"].native),
        )
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"time-stamp token malformed: {exc}") from None


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> cx509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        if not isinstance(cert, x509.Certificate):
            continue
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                cert.issuer == wanted["issuer"]
                and cert.serial_number == wanted["serial_number"].native
            ):
                return cx509.load_der_x509_certificate(bytes(cert.dump()))
        elif cert.key_identifier == sid.chosen.native:
            return cx509.load_der_x509_certificate(bytes(cert.dump()))
    raise TimestampError("time-stamp token does not carry its signer's certificate")


def _verify(
    cert: cx509.Certificate, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm
) -> None:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise TimestampError("time-stamp signer's key type is not supported")
    except InvalidSignature:
        raise TimestampError("time-stamp token signature invalid") from None


async def request_token(settings: Settings, sha256_hex: str) -> bytes:
    """Ask the configured TSA for a token over ``sha256_hex``; the checked token's DER.
    :class:`TsaUnreachable` if it cannot be reached, :class:`TimestampError` if its answer
    does not hold."""
    digest = bytes.fromhex(sha256_hex)
    nonce = secrets.randbits(63)
    timeout = aiohttp.ClientTimeout(total=settings.tsa_timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(
                settings.tsa_url,
                data=make_request(digest, nonce),
                headers={"Content-Type": "application/timestamp-query"},
            ) as response,
        ):
            if response.status != 200:
                raise TsaUnreachable(f"TSA answered HTTP {response.status}")
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise TsaUnreachable(f"TSA unreachable: {exc!r}") from None
    token = token_from_response(body)
    check_token(token, digest, nonce)
    return token


async def stamp_manifest(db: AsyncSession, settings: Settings, row: RecordingManifest) -> bool:
    """Request and store a time-stamp for ``row``; whether it is stamped now. A failure marks
    it ``unreachable`` for the retry loop. The caller commits."""
    try:
        token = await request_token(settings, row.sha256)
    except (TsaUnreachable, TimestampError) as exc:
        logger.warning("manifest %s (session %s) not time-stamped: %s", row.id, row.session_id, exc)
        row.timestamp_status = TimestampStatus.UNREACHABLE
        await db.flush()
        return False
    row.timestamp_token = base64.b64encode(token).decode("ascii")
    row.timestamp_status = TimestampStatus.STAMPED
    row.timestamped_at = utcnow()
    await db.flush()
    logger.info("manifest %s (session %s) time-stamped", row.id, row.session_id)
    return True


async def stamp_pending(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Stamp every manifest still ``pending`` or ``unreachable``; how many got stamped."""
    if not settings.tsa_url:
        return 0
    async with sessionmaker() as db:
        ids = (
            await db.scalars(
                select(RecordingManifest.id)
                .where(
                    RecordingManifest.timestamp_status.in_(
                        (TimestampStatus.PENDING, TimestampStatus.UNREACHABLE)
                    )
                )
                .order_by(RecordingManifest.id)
            )
        ).all()
    stamped = 0
    for manifest_id in ids:
        # Ask the TSA outside any transaction; store the answer in a short one.
        async with sessionmaker() as db:
            row = await db.get(RecordingManifest, manifest_id)
            if row is None or row.timestamp_status == TimestampStatus.STAMPED:
                continue
            sha = row.sha256
        try:
            token = await request_token(settings, sha)
        except TsaUnreachable as exc:
            logger.info("TSA still unreachable (%s); %d manifests wait", exc, len(ids) - stamped)
            async with sessionmaker() as db:
                row = await db.get(RecordingManifest, manifest_id)
                if row is not None and row.timestamp_status == TimestampStatus.PENDING:
                    row.timestamp_status = TimestampStatus.UNREACHABLE
                    await db.commit()
            break  # the others would fail the same way
        except TimestampError as exc:
            logger.warning("manifest %s: TSA answer refused: %s", manifest_id, exc)
            continue
        async with sessionmaker() as db:
            row = await db.get(RecordingManifest, manifest_id)
            if row is None or row.timestamp_status == TimestampStatus.STAMPED:
                continue
            row.timestamp_token = base64.b64encode(token).decode("ascii")
            row.timestamp_status = TimestampStatus.STAMPED
            row.timestamped_at = utcnow()
            await db.commit()
            stamped += 1
    return stamped


class RetryLoop:
    """Stamps unstamped manifests every ``settings.tsa_retry_s`` seconds while the app runs
    (only when a TSA is configured)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop (no-op without a TSA)."""
        if self._settings.tsa_url and self._task is None:
            self._task = asyncio.create_task(self._run(), name="tsa-retry")

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        try:
            while True:
                try:
                    await stamp_pending(self._sessionmaker, self._settings)
                except Exception:
                    logger.exception("time-stamp retry failed")
                await asyncio.sleep(self._settings.tsa_retry_s)
        finally:
            logger.debug("time-stamp retry loop exited")


def manifest_digest(body: bytes) -> bytes:
    """SHA-256 of a manifest's canonical bytes (what is time-stamped)."""
    return hashlib.sha256(body).digest()
