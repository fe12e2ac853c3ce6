"""The joint application (共同申请): the mediator proposes the competent court for a sealed
agreement; each party confirms through their own link within 30 days of the agreement taking
effect; only when every party has confirmed is it filed with the court (the application
document issued, the bundle assembled, the 15-day decision clock started)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, org_reachable
from server.auth.principal import PartyPrincipal, StaffPrincipal
from server.confirmation.bundle import assemble
from server.confirmation.vocabulary import (
    APPLY_WITHIN_DAYS,
    DECIDE_WITHIN_DAYS,
    ApplicationStatus,
)
from server.db import (
    ApplicationConsent,
    Case,
    ConfirmationApplication,
    Document,
    Organisation,
    Party,
)
from server.db.base import utcnow
from server.documents.issue import issue_document, party_entry
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind
from server.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from server.signatures.binding import session_hash
from server.signatures.state import agreement_state, required_parties
from server.vocabulary import OrgKind, PartyRole, Role
from server.workflow.timeline import record

logger = logging.getLogger(__name__)

PROPOSER_ROLES = (Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.INTAKE_CLERK)


async def current_application(db: AsyncSession, case_id: int) -> ConfirmationApplication | None:
    """The case's newest application, if any."""
    return (
        await db.execute(
            select(ConfirmationApplication)
            .where(ConfirmationApplication.case_id == case_id)
            .order_by(ConfirmationApplication.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def consents(db: AsyncSession, application_id: int) -> list[ApplicationConsent]:
    """The parties' confirmations of an application, in order."""
    rows = await db.execute(
        select(ApplicationConsent)
        .where(ApplicationConsent.application_id == application_id)
        .order_by(ApplicationConsent.id)
    )
    return list(rows.scalars())


async def courts_for(db: AsyncSession, who: StaffPrincipal) -> list[Organisation]:
    """The courts ``who`` may propose (those their centre reaches)."""
    rows = await db.execute(
        select(Organisation).where(Organisation.kind == OrgKind.COURT).order_by(Organisation.code)
    )
    return [org for org in rows.scalars() if org_reachable(who, org)]


async def propose(
    db: AsyncSession, who: StaffPrincipal, case_id: int, court_code: str, *, timezone: str
) -> ConfirmationApplication:
    """The centre proposes ``court_code`` for the sealed agreement of the case; the 30 days
    run from the day the agreement took effect (the day it was sealed)."""
    if who.role not in PROPOSER_ROLES:
        raise Forbidden()
    case = await case_in_scope(db, who, case_id, for_update=True)
    state = await agreement_state(db, case)
    if state.current is None or state.seal is None:
        raise Conflict("confirmation.error.not_sealed")
    existing = await current_application(db, case.id)
    if existing is not None and existing.agreement_id == state.current.id:
        raise Conflict("confirmation.error.already_proposed")
    court = (
        await db.execute(select(Organisation).where(Organisation.code == court_code))
    ).scalar_one_or_none()
    if court is None or court.kind != OrgKind.COURT or not org_reachable(who, court):
        raise InvalidInput(fields={"court": FieldError("confirmation.error.court")})
    # The agreement takes effect when it is signed and sealed, on the centres' calendar.
    effective_on = state.seal.sealed_at.astimezone(ZoneInfo(timezone)).date()
    application = ConfirmationApplication(
        case_id=case.id,
        agreement_id=state.current.id,
        court_id=court.id,
        status=ApplicationStatus.AWAITING_PARTIES,
        proposed_by_id=who.staff_id,
        effective_on=effective_on,
        apply_by=effective_on + dt.timedelta(days=APPLY_WITHIN_DAYS),
        bundle="{}",
        extension_reason="",
        decision_reasons="",
    )
    db.add(application)
    await db.flush()
    await record(
        db,
        case,
        "confirmation_proposed",
        actor_id=who.staff_id,
        actor_label=who.display_name,
        court=court.name,
        apply_by=application.apply_by.isoformat(),
    )
    return application


async def party_application(
    db: AsyncSession, who: PartyPrincipal, *, for_update: bool = False
) -> ConfirmationApplication:
    """The application of ``who``'s case (:class:`NotFound` if none was proposed)."""
    application = await current_application(db, who.case_id)
    if application is None:
        raise NotFound()
    if for_update:
        # Two parties confirming at the same moment: the second waits for the first, then
        # counts its confirmation too (so exactly one of them files the application).
        await db.execute(
            select(ConfirmationApplication.id)
            .where(ConfirmationApplication.id == application.id)
            .with_for_update()
        )
        await db.refresh(application)
    return application


async def confirm_by_party(
    db: AsyncSession,
    who: PartyPrincipal,
    *,
    session_token: str | None,
    today: dt.date,
    template_dir: TemplateDirs,
) -> ConfirmationApplication:
    """``who`` confirms the joint application. Filed when this was the last party needed."""
    application = await party_application(db, who, for_update=True)
    party = await db.get(Party, who.party_id)
    case = await db.get(Case, who.case_id)
    if party is None or case is None:
        raise NotFound()
    if party.role == PartyRole.AGENT:
        raise Forbidden("confirmation.error.agent_applies")
    if application.status != ApplicationStatus.AWAITING_PARTIES:
        raise Conflict("confirmation.error.already_filed")
    if today > application.apply_by:
        raise Conflict("confirmation.error.too_late", apply_by=application.apply_by.isoformat())
    given = {c.party_id for c in await consents(db, application.id)}
    if party.id in given:
        raise Conflict("confirmation.error.already_confirmed")
    db.add(
        ApplicationConsent(
            application_id=application.id,
            party_id=party.id,
            confirmed_at=utcnow(),
            session_hash=session_hash(session_token),
        )
    )
    await db.flush()
    await record(db, case, "confirmation_party_confirmed", actor_label=party.name)
    needed = {p.id for p in await required_parties(db, case)}
    if needed <= {c.party_id for c in await consents(db, application.id)}:
        await file_application(db, case, application, today=today, template_dir=template_dir)
    return application


def agreement_summary(agreement: Document, centre_name: str, case: Case) -> dict[str, Any]:
    """The agreement as the application and ruling templates name it."""
    data = json.loads(agreement.data or "{}")
    return {
        "id": agreement.id,
        "number": data.get("document_number") or case.number or str(case.id),
        "centre": centre_name,
        "concluded_on": data.get("issued_on") or agreement.created_at.date().isoformat(),
        "sha256": agreement.sha256,
        "terms": list(data.get("terms") or []),
    }


async def applicants(db: AsyncSession, case: Case) -> list[dict[str, Any]]:
    """The applying parties as the templates read them."""
    return [party_entry(p) for p in await required_parties(db, case)]


async def file_application(
    db: AsyncSession,
    case: Case,
    application: ConfirmationApplication,
    *,
    today: dt.date,
    template_dir: TemplateDirs,
) -> None:
    """Issue the application document, assemble the bundle, start the court's clock. A
    template that fails raises before anything of this step is kept (one transaction)."""
    agreement = await db.get(Document, application.agreement_id)
    court = await db.get(Organisation, application.court_id)
    centre = await db.get(Organisation, case.centre_id)
    if agreement is None or court is None:
        raise NotFound()
    document = await _issue(
        db,
        case,
        DocumentKind.CONFIRMATION_APPLICATION,
        {
            "court": {"name": court.name, "code": court.code},
            "agreement": agreement_summary(agreement, centre.name if centre else "", case),
            "parties": await applicants(db, case),
            "applied_on": today.isoformat(),
        },
        template_dir=template_dir,
        today=today,
    )
    bundle = await assemble(db, case, agreement)
    bundle["application"] = {"id": document.id, "sha256": document.sha256}
    application.application_document_id = document.id
    application.bundle = json.dumps(bundle, ensure_ascii=False, sort_keys=True)
    application.status = ApplicationStatus.FILED
    application.filed_at = utcnow()
    application.filed_on = today
    application.decide_by = today + dt.timedelta(days=DECIDE_WITHIN_DAYS)
    # The court now sees the case (server.access: courts see cases with their court_id).
    case.court_id = court.id
    await record(
        db,
        case,
        "confirmation_filed",
        court=court.name,
        decide_by=application.decide_by.isoformat(),
        document_id=document.id,
    )
    logger.info("confirmation application %s filed with court %s", application.id, court.code)


async def _issue(
    db: AsyncSession,
    case: Case,
    kind: DocumentKind,
    data: dict[str, Any],
    *,
    template_dir: TemplateDirs,
    today: dt.date,
    created_by: int | None = None,
) -> Document:
    return await issue_document(
        db, case, kind, data, created_by=created_by, template_dir=template_dir, today=today
    )


async def waiting_count(db: AsyncSession, application_id: int) -> int:
    """How many parties have confirmed so far."""
    count = await db.execute(
        select(func.count(ApplicationConsent.id)).where(
            ApplicationConsent.application_id == application_id
        )
    )
    return int(count.scalar_one())
