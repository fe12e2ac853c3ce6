"""What a party's status page shows of the agreement and judicial confirmation: a step
indicator (受理 → 调解 → 协议 → 签名 → 申请司法确认 → 法院审查 → 裁定), the agreement to read and
sign, signatures invalidated by a change of the text, the application to confirm, the ruling."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import PartyPrincipal
from server.confirmation.application import consents, current_application
from server.confirmation.vocabulary import ApplicationStatus
from server.db import Case, Document, Organisation, Party
from server.documents.record import party_records
from server.signatures.state import agreement_state, required_parties
from server.vocabulary import CaseStatus, PartyRole

PATH_STEPS: tuple[str, ...] = (
    "intake",
    "mediation",
    "agreement",
    "signing",
    "application",
    "review",
    "ruling",
)


@dataclass(frozen=True)
class PathStep:
    """One step of the path to an enforceable agreement."""

    key: str
    state: str  # "done", "current" or "upcoming"


def path_steps(current: int) -> list[PathStep]:
    """The seven steps with step ``current`` marked (all done past the end)."""
    return [
        PathStep(key, "done" if i < current else "current" if i == current else "upcoming")
        for i, key in enumerate(PATH_STEPS)
    ]


async def confirmation_view(
    db: AsyncSession, case: Case, me: Party, today: dt.date, who: PartyPrincipal | None = None
) -> dict[str, Any]:
    """The template context of the party page's agreement and confirmation section (and the
    signed-off mediation records to confirm, from ``server.documents.record``)."""
    records = await party_records(db, who) if who is not None else []
    state = await agreement_state(db, case)
    application = await current_application(db, case.id)
    if application is not None and application.agreement_id != (
        state.current.id if state.current else None
    ):
        application = None  # proposed for an agreement that was changed since
    confirmed_ids = (
        {c.party_id for c in await consents(db, application.id)} if application else set()
    )
    needed = await required_parties(db, case)
    ruling = (
        await db.get(Document, application.ruling_document_id)
        if application and application.ruling_document_id
        else None
    )
    court = await db.get(Organisation, application.court_id) if application else None
    if ruling is not None:
        current = len(PATH_STEPS)
    elif application is not None and application.status == ApplicationStatus.FILED:
        current = PATH_STEPS.index("review")
    elif state.sealed:
        current = PATH_STEPS.index("application")
    elif state.signable:
        current = PATH_STEPS.index("signing")
    elif state.current is not None:
        current = PATH_STEPS.index("agreement")
    elif case.status in (CaseStatus.MEDIATING, CaseStatus.CLOSED):
        current = PATH_STEPS.index("mediation")
    else:
        current = 0
    return {
        "agreement": state.current,
        "agreement_state": state,
        "path_steps": path_steps(current) if state.current is not None else [],
        "i_signed": me.id in state.signed_party_ids,
        "my_invalidated": [s for s in state.invalidated if s.party_id == me.id],
        "signers_needed": needed,
        "application": application,
        "application_court": court.name if court else "",
        "application_confirmed_ids": confirmed_ids,
        "application_open": application is not None
        and application.status == ApplicationStatus.AWAITING_PARTIES
        and today <= application.apply_by,
        "application_late": application is not None
        and application.status == ApplicationStatus.AWAITING_PARTIES
        and today > application.apply_by,
        "may_apply": me.role != PartyRole.AGENT,
        "ruling": ruling,
        "records": records,
    }
