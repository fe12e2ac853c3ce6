"""Identity in a hearing: a party declares name and ID number; the presiding participant checks
it on camera, and the check is recorded on the case."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import ParticipantPrincipal, Principal
from server.db import Case, Hearing, HearingParticipant, IdentityCheck, IdentityDeclaration
from server.db.base import utcnow
from server.errors import Conflict, Forbidden, NotFound
from server.hearings.seats import own_seat, presiding_seat
from server.hearings.vocabulary import PARTY_SIDE_ROLES
from server.schemas.hearings import IdentityCheckRequest, IdentityDeclarationRequest
from server.validation import mask_id_number
from server.workflow.timeline import record


async def declare(
    db: AsyncSession, who: ParticipantPrincipal, req: IdentityDeclarationRequest
) -> IdentityDeclaration:
    """A party (or agent) declares their name and ID number. The caller commits."""
    seat, _ = await own_seat(db, who)
    if seat.role not in PARTY_SIDE_ROLES:
        raise Forbidden()
    declaration = IdentityDeclaration(
        participant_id=seat.id, name=req.name, id_number=req.id_number, declared_at=utcnow()
    )
    db.add(declaration)
    await db.flush()
    return declaration


async def latest_declaration(db: AsyncSession, participant_id: int) -> IdentityDeclaration | None:
    """A participant's newest declaration."""
    return (
        await db.execute(
            select(IdentityDeclaration)
            .where(IdentityDeclaration.participant_id == participant_id)
            .order_by(IdentityDeclaration.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def check(
    db: AsyncSession,
    who: Principal | None,
    hearing_id: int,
    participant_id: int,
    req: IdentityCheckRequest,
) -> IdentityCheck:
    """The presiding participant records their check of a participant's declared identity; the
    case's timeline gets the event (with the ID number masked). The caller commits."""
    checker = await presiding_seat(db, who, hearing_id)
    target = await db.get(HearingParticipant, participant_id)
    if target is None or target.hearing_id != hearing_id:
        raise NotFound()
    declaration = await latest_declaration(db, target.id)
    if declaration is None:
        raise Conflict("error.hearing_nothing_declared")
    row = IdentityCheck(
        participant_id=target.id,
        declaration_id=declaration.id,
        method=req.method,
        outcome=req.outcome,
        note=req.note,
        checked_by_participant_id=checker.id,
        checked_by_staff_id=checker.staff_id,
        at=utcnow(),
    )
    db.add(row)
    hearing = await db.get(Hearing, hearing_id)
    assert hearing is not None
    case = await db.get(Case, hearing.case_id)
    assert case is not None
    await record(
        db,
        case,
        "identity_checked",
        actor_id=checker.staff_id,
        actor_label=checker.name,
        hearing_id=hearing.id,
        participant=target.name,
        role=str(target.role),
        declared_name=declaration.name,
        id_number_masked=mask_id_number(declaration.id_number),
        method=req.method.value,
        outcome=req.outcome.value,
    )
    await db.flush()
    return row
