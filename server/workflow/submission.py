"""Disputes citizens file themselves, without an account, and follow through their link."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.tokens import token_hash
from server.db import Case, Organisation, Party
from server.db.base import utcnow
from server.errors import FieldError, InvalidInput
from server.schemas.cases import IntakeRequest, PartyIn, PublicDisputeRequest
from server.vocabulary import CENTRE_KINDS, CaseStatus, Channel, PartyRole
from server.workflow.intake import add_parties, place_at_centre
from server.workflow.orgs import org_by_code
from server.workflow.timeline import record


async def submit(db: AsyncSession, req: PublicDisputeRequest, today: dt.date) -> tuple[Case, str]:
    """File a dispute at a centre; returns the case and the applicant's link token."""
    centre = await org_by_code(db, req.centre_code)
    if centre is None or centre.kind not in CENTRE_KINDS:
        raise InvalidInput(fields={"centre_code": FieldError("field.unknown_org")})
    parties = [
        PartyIn(role=PartyRole.APPLICANT, name=req.name, phone=req.phone, id_number=req.id_number)
    ]
    if req.respondent_name:
        parties.append(
            PartyIn(role=PartyRole.RESPONDENT, name=req.respondent_name, phone=req.respondent_phone)
        )
    intake_req = IntakeRequest(
        channel=Channel.ONLINE,
        title=req.title,
        facts=req.facts,
        claims=req.claims,
        parties=parties,
    )
    case = Case(
        status=CaseStatus.SUBMITTED,
        channel=Channel.ONLINE,
        title=req.title,
        facts=req.facts,
        claims=req.claims,
        accepted_on=today,
        accepted_at=utcnow(),
    )
    place_at_centre(case, centre)
    db.add(case)
    await db.flush()
    tokens = await add_parties(db, case, intake_req)
    applicant = next(p for p in case.parties if p.role == PartyRole.APPLICANT)
    await record(db, case, "submitted_online", actor_label=req.name, centre=centre.code)
    return case, tokens[applicant.id]


async def party_for_token(db: AsyncSession, token: str) -> Party | None:
    """The party whose personal link carries ``token``."""
    if not token or len(token) > 100:
        return None
    return (
        await db.execute(select(Party).where(Party.link_token_hash == token_hash(token)))
    ).scalar_one_or_none()


async def public_centres(db: AsyncSession) -> list[Organisation]:
    """Centres a citizen can file with, in tree order."""
    rows = await db.execute(
        select(Organisation).where(Organisation.kind.in_(CENTRE_KINDS)).order_by(Organisation.path)
    )
    return list(rows.scalars())
