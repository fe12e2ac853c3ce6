"""Appending to the hash-chained audit log, checking it, and extracting a session's part.

Each entry's ``hash`` is SHA-256 over a canonical JSON of its fields (sequence number, time,
actor, action, object, case, session, view, detail) and the previous entry's hash. Appends
lock the single ``audit_head`` row first (a row lock on PostgreSQL; SQLite has one writer at
a time anyway), so concurrent appends form one chain with no forks or duplicate numbers, and
the head also records the end of the chain, so removing the newest entries shows too.
The table refuses UPDATE and DELETE (triggers from migration 0010).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import ParticipantPrincipal, PartyPrincipal, StaffPrincipal
from server.db.audit import AuditEntry, AuditHead
from server.db.base import utcnow

GENESIS = "0" * 64
AUDIT_VERSION = "bilin-audit-v1"
# Rows read per query while verifying (the log only grows).
VERIFY_BATCH = 2000

Actor = StaffPrincipal | ParticipantPrincipal | PartyPrincipal | None


@dataclass(frozen=True)
class ActorFields:
    """Who, as the entry stores it (copied, so later renames do not change the log)."""

    kind: str
    id: int | None
    name: str
    role: str


def actor_fields(who: Actor) -> ActorFields:
    """The stored description of ``who`` (``None`` is the system itself)."""
    if isinstance(who, StaffPrincipal):
        return ActorFields("staff", who.staff_id, who.display_name, str(who.role))
    if isinstance(who, ParticipantPrincipal):
        return ActorFields("participant", who.participant_id, who.name, str(who.hearing_role))
    if isinstance(who, PartyPrincipal):
        return ActorFields("party", who.party_id, who.name, "party")
    return ActorFields("system", None, "system", "system")


def _at(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fields(entry: AuditEntry) -> dict[str, Any]:
    """What an entry says, as plain data: the material its hash covers (with the version)
    and the body of its line in an extract (with the hash), so the two can never differ."""
    return {
        "seq": entry.seq,
        "at": _at(entry.at),
        "actor": {
            "kind": entry.actor_kind,
            "id": entry.actor_id,
            "name": entry.actor_name,
            "role": entry.actor_role,
        },
        "action": entry.action,
        "object": {"type": entry.object_type, "id": entry.object_id},
        "case_id": entry.case_id,
        "session_id": entry.session_id,
        "view_key": entry.view_key,
        "detail": json.loads(entry.detail or "{}"),
        "prev_hash": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry, from its fields and ``prev_hash``."""
    material = {"v": AUDIT_VERSION, **_fields(entry)}
    canonical = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def _lock_head(db: AsyncSession) -> AuditHead:
    # An UPDATE first: it takes the row lock (PostgreSQL) or the write lock (SQLite) before
    # anything is read, so the sequence number and previous hash read next are the latest.
    await db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    head = (
        await db.execute(
            select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
        )
    ).scalar_one()
    return head


async def audit(
    db: AsyncSession,
    who: Actor,
    action: str,
    *,
    case_id: int | None,
    object_type: str,
    object_id: int | None,
    detail: dict[str, Any] | None = None,
    session_id: int | None = None,
    view_key: str | None = None,
) -> AuditEntry:
    """Append one entry in ``db``'s transaction (it commits or rolls back with the act).

    ``session_id`` ties the entry to a recording session (for the page's filter and the
    evidence package's extract); it defaults to ``object_id`` when the object is a session.
    """
    head = await _lock_head(db)
    return await _append(
        db,
        head,
        who,
        action,
        case_id=case_id,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        session_id=session_id,
        view_key=view_key,
    )


async def _append(
    db: AsyncSession,
    head: AuditHead,
    who: Actor,
    action: str,
    *,
    case_id: int | None,
    object_type: str,
    object_id: int | None,
    detail: dict[str, Any] | None,
    session_id: int | None,
    view_key: str | None,
) -> AuditEntry:
    if session_id is None and object_type == "session":
        session_id = object_id
    actor = actor_fields(who)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name[:100],
        actor_role=actor.role,
        action=str(action),
        object_type=str(object_type),
        object_id=object_id,
        case_id=case_id,
        session_id=session_id,
        view_key=view_key,
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    db.add(entry)
    head.seq = entry.seq
    head.hash = entry.hash
    await db.flush()
    return entry


async def audit_once(
    db: AsyncSession,
    who: Actor,
    action: str,
    *,
    case_id: int | None,
    object_type: str,
    object_id: int | None,
    session_id: int,
    view_key: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Append unless an entry of ``action`` for this session and page view exists already
    (checked under the head lock, so parallel first fetches write one entry).

    Checked once before locking too: the later fetches of a view (every segment and range
    the player asks for) then read one indexed row and write nothing."""
    seen = (
        select(AuditEntry.id)
        .where(
            AuditEntry.session_id == session_id,
            AuditEntry.action == str(action),
            AuditEntry.view_key == view_key,
        )
        .limit(1)
    )
    if await db.scalar(seen) is not None:
        return None
    head = await _lock_head(db)
    if await db.scalar(seen) is not None:
        return None
    return await _append(
        db,
        head,
        who,
        action,
        case_id=case_id,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        session_id=session_id,
        view_key=view_key,
    )


@dataclass(frozen=True)
class ChainCheck:
    """The result of :func:`verify_audit_chain`."""

    intact: bool
    entries: int
    # The sequence number of the first entry that does not fit (or the head's, when the
    # newest entries are missing), and why.
    broken_at: int | None = None
    reason: str = ""


async def verify_audit_chain(db: AsyncSession) -> ChainCheck:
    """Recompute every entry's hash and link, in order, and compare the end with the head."""
    previous = GENESIS
    expected_seq = 1
    count = 0
    after = 0
    while True:
        rows = (
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq >= after + 1)
                .order_by(AuditEntry.seq)
                .limit(VERIFY_BATCH)
                .execution_options(populate_existing=True)
            )
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainCheck(False, count, expected_seq, "missing")
            if entry.prev_hash != previous:
                return ChainCheck(False, count, entry.seq, "link")
            if entry_hash(entry) != entry.hash:
                return ChainCheck(False, count, entry.seq, "hash")
            previous = entry.hash
            expected_seq += 1
            count += 1
            after = entry.seq
    head = await db.get(AuditHead, 1, populate_existing=True)
    if head is None or head.seq != count or head.hash != previous:
        return ChainCheck(False, count, count + 1, "truncated")
    return ChainCheck(True, count)


def entry_out(entry: AuditEntry) -> dict[str, Any]:
    """An entry as plain data, with its hashes (for the evidence package's extract)."""
    return {**_fields(entry), "hash": entry.hash}


async def audit_extract(db: AsyncSession, session_id: int) -> list[dict[str, Any]]:
    """A session's entries in chain order, each with ``prev_hash`` and ``hash``, so anyone
    can recompute each entry's hash (see :func:`entry_hash`; the material is documented in
    docs/review.md). Links between them skip the entries of other sessions."""
    rows = await db.scalars(
        select(AuditEntry).where(AuditEntry.session_id == session_id).order_by(AuditEntry.seq)
    )
    return [entry_out(entry) for entry in rows]
