"""RFC 3161 time-stamps from a real time-stamp authority: OpenSSL's ``openssl ts -reply``
behind a small aiohttp server, with a throwaway CA and TSA certificate."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy.ext.asyncio import AsyncSession

from recording import package_layout as layout
from recording.seal import export_sealed, seal_session
from recording.storage import LocalStore
from recording.timestamping import (
    RetryLoop,
    TimestampError,
    check_token,
    make_request,
    stamp_pending,
    token_from_response,
)
from recording.verify import verify_package, verify_session
from server.db.engine import create_engine, create_sessionmaker
from server.db.signing import RecordingManifest, TimestampStatus
from server.settings import Settings
from tests.recording.fabricate import make_recorded_session
from tests.world import World

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_tsa(directory: Path) -> Path:
    """A CA and a TSA certificate signed by it, and an OpenSSL config for ``ts -reply``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Bilin Test Root CA"))
        .issuer_name(_name("Bilin Test Root CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("Bilin Test TSA"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tsa.crt").write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    (directory / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "serial").write_text("01\n")
    config = directory / "tsa.cnf"
    config.write_text(
        f"""[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {directory}
serial = {directory}/serial
crypto_device = builtin
signer_cert = {directory}/tsa.crt
certs = {directory}/ca.crt
signer_key = {directory}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
    )
    return config


async def openssl_reply(config: Path, request_der: bytes, work: Path) -> bytes:
    """``openssl ts -reply`` for one request."""
    query = work / f"q{hashlib.sha256(request_der).hexdigest()[:12]}.tsq"
    reply = query.with_suffix(".tsr")
    query.write_bytes(request_der)
    process = await asyncio.create_subprocess_exec(
        OPENSSL,
        "ts",
        "-reply",
        "-config",
        str(config),
        "-queryfile",
        str(query),
        "-out",
        str(reply),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return reply.read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Tsa:
    """A time-stamp authority over HTTP at ``url``; ``start()`` / ``stop()`` it at will."""

    def __init__(self, config: Path, work: Path) -> None:
        self.config, self.work = config, work
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/tsa"
        self.requests = 0
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests += 1
        assert request.content_type == "application/timestamp-query"
        body = await openssl_reply(self.config, await request.read(), self.work)
        return web.Response(body=body, content_type="application/timestamp-reply")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/tsa", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture(scope="session")
def tsa_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tsa(tmp_path_factory.mktemp("tsa"))


@pytest.fixture
async def tsa(tsa_config: Path, tmp_path: Path) -> AsyncIterator[Tsa]:
    server = Tsa(tsa_config, tmp_path)
    yield server
    await server.stop()


async def test_token_from_openssl_is_checked(tsa_config: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"manifest bytes").digest()
    reply = await openssl_reply(tsa_config, make_request(digest, 42), tmp_path)
    token = token_from_response(reply)
    info = check_token(token, digest, 42)
    assert info.tsa_subject == "CN=Bilin Test TSA"
    assert abs(info.gen_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)

    with pytest.raises(TimestampError, match="imprint does not match"):
        check_token(token, hashlib.sha256(b"other bytes").digest())
    with pytest.raises(TimestampError, match="nonce differs"):
        check_token(token, digest, 43)
    # The TSA's signature altered.
    info_ = cms.ContentInfo.load(token)
    signer = info_["content"]["signer_infos"][0]
    signature = bytearray(signer["signature"].native)
    signature[10] ^= 0x01
    signer["signature"] = bytes(signature)
    with pytest.raises(TimestampError, match="signature invalid"):
        check_token(info_.dump(force=True), digest, 42)


async def test_manifest_stamped_when_sealed_and_in_the_package(
    db: AsyncSession, world: World, settings: Settings, tsa: Tsa, tmp_path: Path
) -> None:
    await tsa.start()
    settings = settings.with_changes(tsa_url=tsa.url)
    made = await make_recorded_session(db, world, tmp_path / "rec", parties=2, seconds=2)
    await db.commit()
    row = await seal_session(db, settings, made.session_id)
    await db.commit()
    assert row.timestamp_status == TimestampStatus.STAMPED and tsa.requests == 1
    assert row.timestamp_token is not None and row.timestamped_at is not None
    check_token(base64.b64decode(row.timestamp_token), bytes.fromhex(row.sha256))

    package = tmp_path / "pkg"
    await export_sealed(db, settings, made.session_id, package, store=LocalStore(tmp_path / "rec"))
    report = verify_package(package)
    assert report.ok, report.problems
    assert any("by CN=Bilin Test TSA" in note for note in report.notes), report.notes
    stored = await verify_session(db, settings, made.session_id, LocalStore(tmp_path / "rec"))
    assert stored.ok, stored.problems
    assert any("by CN=Bilin Test TSA" in note for note in stored.notes), stored.notes

    # A token over some other manifest does not pass for this one.
    other = await openssl_reply(
        tsa.config, make_request(hashlib.sha256(b"x").digest(), 1), tmp_path
    )
    (package / layout.TIMESTAMP).write_bytes(token_from_response(other))
    report = verify_package(package)
    assert report.problems == [
        "time-stamp: time-stamp imprint does not match the manifest's SHA-256"
    ]


async def test_unreachable_tsa_is_retried(
    db: AsyncSession, world: World, settings: Settings, tsa: Tsa, tmp_path: Path
) -> None:
    settings = settings.with_changes(tsa_url=tsa.url, tsa_timeout_s=2, tsa_retry_s=1)
    made = await make_recorded_session(db, world, tmp_path / "rec", parties=2, seconds=2)
    await db.commit()
    # Nothing listens yet.
    row = await seal_session(db, settings, made.session_id)
    await db.commit()
    assert row.timestamp_status == TimestampStatus.UNREACHABLE and row.timestamp_token is None

    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        assert await stamp_pending(sessionmaker, settings) == 0  # still down

        await tsa.start()
        loop = RetryLoop(sessionmaker, settings)
        loop.start()
        try:
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                async with sessionmaker() as check:
                    stored = await check.get(RecordingManifest, row.id)
                    assert stored is not None
                    if stored.timestamp_status == TimestampStatus.STAMPED:
                        break
                assert asyncio.get_running_loop().time() < deadline, "never stamped"
                await asyncio.sleep(0.1)
        finally:
            await loop.stop()
        assert stored.timestamp_token is not None
        check_token(base64.b64decode(stored.timestamp_token), bytes.fromhex(stored.sha256))
    finally:
        await engine.dispose()
