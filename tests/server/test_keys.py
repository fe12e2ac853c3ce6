"""Organisations' signing keys: made on first start for every centre and court, shared through
the database (private half encrypted), published on /keys and by ``bilin keys export``."""

from __future__ import annotations

import asyncio
import base64

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import create_engine, create_sessionmaker
from server.db.signing import SigningKey
from server.keys import KeyUnavailable, pem_fingerprint, signing_key, verify_signature
from server.settings import Settings
from server.vocabulary import OrgKind
from tests.world import World

SIGNING = {OrgKind.CITY, OrgKind.COUNTY, OrgKind.TOWNSHIP, OrgKind.VILLAGE, OrgKind.COURT}


async def test_key_made_once_signs_and_is_stored_encrypted(
    db: AsyncSession, world: World, settings: Settings
) -> None:
    centre = world.orgs["620602"]
    key = await signing_key(db, settings, centre.id)
    await db.commit()
    again = await signing_key(db, settings, centre.id)
    assert again.key_id == key.key_id == pem_fingerprint(key.public_pem)
    signature = key.sign("调解协议书".encode())
    assert len(signature) == 64
    assert verify_signature(key.public_pem, "调解协议书".encode(), signature)
    assert not verify_signature(key.public_pem, "调解协议书 ".encode(), signature)
    assert not verify_signature("not a key", b"x", signature)

    row = await db.scalar(select(SigningKey).where(SigningKey.organisation_id == centre.id))
    assert row is not None
    blob = base64.b64decode(row.private_key_encrypted)
    assert len(blob) == 12 + 32 + 16  # nonce, key, GCM tag: never the raw key alone

    # Another process with the same secret key signs with the same key...
    other_engine = create_engine(settings)
    try:
        async with create_sessionmaker(other_engine)() as other:
            shared = await signing_key(other, settings, centre.id)
            assert shared.key_id == key.key_id
            # ...one with a different secret cannot open it, and says why.
            with pytest.raises(KeyUnavailable, match="BILIN_SECRET_KEY"):
                await signing_key(
                    other, settings.with_changes(secret_key="another-secret-" * 3), centre.id
                )
    finally:
        await other_engine.dispose()

    # Departments and mediation rooms do not sign.
    with pytest.raises(KeyUnavailable, match="does not sign"):
        await signing_key(db, settings, world.orgs["620602-D01"].id)


async def test_two_processes_making_the_same_key_agree(
    db: AsyncSession, world: World, settings: Settings
) -> None:
    court = world.orgs["620602-C01"]
    engines = [create_engine(settings) for _ in range(2)]
    try:

        async def make(index: int) -> str:
            async with create_sessionmaker(engines[index])() as session:
                key = await signing_key(session, settings, court.id)
                await session.commit()
                return key.key_id

        first, second = await asyncio.gather(make(0), make(1))
    finally:
        for engine in engines:
            await engine.dispose()
    assert first == second
    rows = (
        await db.scalars(select(SigningKey).where(SigningKey.organisation_id == court.id))
    ).all()
    assert len(rows) == 1


async def test_keys_page_and_pem_download(
    db: AsyncSession,
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    # The app's start made a key for every centre and court, none for the others.
    rows = (await db.scalars(select(SigningKey))).all()
    by_org = {row.organisation_id: row for row in rows}
    for org in world.orgs.values():
        assert (org.id in by_org) == (org.kind in SIGNING), org.code

    # Every page's footer links to the keys page.
    assert 'href="/keys"' in await (await client.get("/login")).text()

    page = await client.get("/keys")
    assert page.status == 200
    html = await page.text()
    assert "签名公钥" in html
    centre_key = by_org[world.orgs["620602"].id]
    assert "凉州区综治中心" in html and centre_key.fingerprint in html
    assert 'href="/keys/620602-C01.pem"' in html
    assert "凉州区人社局" not in html  # a department: no key

    english = await (await client.get("/keys?lang=en")).text()
    assert "Signing keys" in english and centre_key.fingerprint in english

    pem = await client.get("/keys/620602.pem")
    assert pem.status == 200
    assert pem.headers["Content-Type"].startswith("application/x-pem-file")
    assert 'filename="620602.pem"' in pem.headers["Content-Disposition"]
    assert await pem.text() == centre_key.public_pem
    for missing in ("/keys/620602-D01.pem", "/keys/999999.pem", "/keys/620602", "/keys/..%2F.pem"):
        assert (await client.get(missing)).status == 404, missing
