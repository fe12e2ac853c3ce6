"""Turn database rows into the API's response models (masking what must be masked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, CaseEvent, Organisation, Party
from server.schemas.cases import CaseDetail, CaseSummary, PartyOut, TimelineEvent
from server.validation import mask_id_number, mask_phone


async def orgs_by_id(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, Organisation]:
    """Organisations for the given ids, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Organisation).where(Organisation.id.in_(wanted)))
    return {org.id: org for org in rows.scalars()}


def party_out(party: Party) -> PartyOut:
    """A party with ID number and phone masked."""
    return PartyOut(
        id=party.id,
        role=party.role,
        name=party.name,
        id_number_masked=mask_id_number(party.id_number),
        phone_masked=mask_phone(party.phone),
        represents_id=party.represents_id,
    )


def case_summary(case: Case, orgs: dict[int, Organisation], today: dt.date) -> CaseSummary:
    """A row of the case list."""
    return CaseSummary(
        id=case.id,
        number=case.number,
        title=case.title,
        status=case.status,
        dispute_type=case.dispute_type,
        lane=case.lane,
        channel=case.channel,
        centre_code=orgs[case.centre_id].code,
        accepted_at=case.accepted_at,
        deadline_on=case.deadline_on,
        overdue=case.is_overdue(today),
    )


async def case_summaries(db: AsyncSession, cases: list[Case], today: dt.date) -> list[CaseSummary]:
    """Rows of the case list, with their centres looked up in one query."""
    orgs = await orgs_by_id(db, (c.centre_id for c in cases))
    return [case_summary(c, orgs, today) for c in cases]


async def case_detail(db: AsyncSession, case: Case, today: dt.date) -> CaseDetail:
    """One case in full."""
    orgs = await orgs_by_id(db, (case.centre_id, case.room_id, case.department_id, case.court_id))
    await db.refresh(case, ["parties"])

    def code(org_id: int | None) -> str | None:
        return orgs[org_id].code if org_id is not None else None

    return CaseDetail(
        **case_summary(case, orgs, today).model_dump(),
        facts=case.facts,
        claims=case.claims,
        centre_name=orgs[case.centre_id].name,
        room_code=code(case.room_id),
        department_code=code(case.department_id),
        court_code=code(case.court_id),
        mediator_id=case.mediator_id,
        first_receiver_id=case.first_receiver_id,
        outcome=case.outcome,
        next_step=case.next_step,
        outcome_note=case.outcome_note,
        closed_at=case.closed_at,
        feedback_at=case.feedback_at,
        parties=[party_out(p) for p in case.parties],
    )


def timeline_event(event: CaseEvent) -> TimelineEvent:
    """A timeline entry as the API returns it."""
    return TimelineEvent(
        id=event.id,
        at=event.at,
        kind=event.kind,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        detail=event.detail,
    )
