"""The court's side: the queue of filed applications with the 15-day decision clock, the
one 10-day extension, and the decision — a ruling issued from its template and sealed with
the court's key. Only judges and clerks of the application's court see it (anyone else: not
found); only a judge of that court extends or decides."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import COURT_ROLES
from server.auth.principal import StaffPrincipal
from server.confirmation.application import _issue, agreement_summary, applicants
from server.confirmation.vocabulary import EXTENSION_DAYS, ApplicationStatus, Decision
from server.db import Case, ConfirmationApplication, Document, Organisation, Staff
from server.db.base import utcnow
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind
from server.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from server.settings import Settings
from server.signatures.capture import seal_document
from server.vocabulary import Role
from server.workflow.timeline import record

logger = logging.getLogger(__name__)

MAX_REASON = 4000


@dataclass(frozen=True)
class QueueItem:
    """A filed application in the court's queue, with its clock."""

    application: ConfirmationApplication
    case: Case
    days_left: int

    @property
    def overdue(self) -> bool:
        """Past the decision deadline."""
        return self.days_left < 0


def days_left(application: ConfirmationApplication, today: dt.date) -> int:
    """Days until the decision deadline (negative once past it)."""
    if application.decide_by is None:
        return 0
    return (application.decide_by - today).days


async def court_queue(db: AsyncSession, who: StaffPrincipal, today: dt.date) -> list[QueueItem]:
    """The filed applications waiting for ``who``'s court, nearest deadline first."""
    if who.role not in COURT_ROLES:
        return []
    rows = await db.execute(
        select(ConfirmationApplication, Case)
        .join(Case, Case.id == ConfirmationApplication.case_id)
        .where(
            ConfirmationApplication.court_id == who.org_id,
            ConfirmationApplication.status == ApplicationStatus.FILED,
        )
        .order_by(ConfirmationApplication.decide_by, ConfirmationApplication.id)
    )
    return [QueueItem(app, case, days_left(app, today)) for app, case in rows]


async def court_application(
    db: AsyncSession, who: StaffPrincipal, application_id: int, *, for_update: bool = False
) -> ConfirmationApplication:
    """A filed (or decided) application of ``who``'s court; anyone else: :class:`NotFound`."""
    query = select(ConfirmationApplication).where(
        ConfirmationApplication.id == application_id,
        ConfirmationApplication.court_id == who.org_id,
        ConfirmationApplication.status != ApplicationStatus.AWAITING_PARTIES,
    )
    if for_update:
        query = query.with_for_update()
    application = (await db.execute(query)).scalar_one_or_none()
    if application is None or who.role not in COURT_ROLES:
        raise NotFound()
    return application


def _reason(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(fields={field: FieldError("field.required")})
    if len(text) > MAX_REASON:
        raise InvalidInput(fields={field: FieldError("confirmation.error.too_long")})
    return text


async def extend(
    db: AsyncSession, who: StaffPrincipal, application_id: int, reason: str
) -> ConfirmationApplication:
    """Extend the decision deadline by 10 days, once, with a reason (a judge of the court)."""
    application = await court_application(db, who, application_id, for_update=True)
    if who.role != Role.JUDGE:
        raise Forbidden("confirmation.error.judge_only")
    if application.status != ApplicationStatus.FILED:
        raise Conflict("confirmation.error.decided")
    if application.extended_at is not None:
        raise Conflict("confirmation.error.already_extended")
    text = _reason(reason, "reason")
    assert application.decide_by is not None
    application.decide_by = application.decide_by + dt.timedelta(days=EXTENSION_DAYS)
    application.extended_at = utcnow()
    application.extended_by_id = who.staff_id
    application.extension_reason = text
    case = await db.get(Case, application.case_id)
    assert case is not None
    await record(
        db,
        case,
        "confirmation_extended",
        actor_id=who.staff_id,
        actor_label=who.display_name,
        decide_by=application.decide_by.isoformat(),
    )
    return application


def ruling_number(application: ConfirmationApplication, court: Organisation, on: dt.date) -> str:
    """The ruling's number, e.g. ``（2026）620602-C01民特3号``."""
    return f"（{on.year}）{court.code}民特{application.id}号"


async def decide(
    db: AsyncSession,
    settings: Settings,
    who: StaffPrincipal,
    application_id: int,
    decision: Decision,
    reasons: str,
    *,
    today: dt.date,
    template_dir: TemplateDirs,
) -> Document:
    """Confirm or reject: refused after the deadline (unless extended and still within it);
    the ruling is issued from the court's template and sealed with the court's key."""
    application = await court_application(db, who, application_id, for_update=True)
    if who.role != Role.JUDGE:
        raise Forbidden("confirmation.error.judge_only")
    if application.status != ApplicationStatus.FILED:
        raise Conflict("confirmation.error.decided")
    if application.decide_by is not None and today > application.decide_by:
        raise Conflict(
            "confirmation.error.decision_overdue", decide_by=application.decide_by.isoformat()
        )
    text = _reason(reasons, "reasons") if decision == Decision.REJECT else reasons.strip()
    if len(text) > MAX_REASON:
        raise InvalidInput(fields={"reasons": FieldError("confirmation.error.too_long")})
    case = await db.get(Case, application.case_id)
    court = await db.get(Organisation, application.court_id)
    agreement = await db.get(Document, application.agreement_id)
    centre = await db.get(Organisation, case.centre_id) if case else None
    judge = await db.get(Staff, who.staff_id)
    if case is None or court is None or agreement is None:
        raise NotFound()
    ruling = await _issue(
        db,
        case,
        DocumentKind.RULING,
        {
            "court": {"name": court.name, "code": court.code},
            "ruling_number": ruling_number(application, court, today),
            "agreement": agreement_summary(agreement, centre.name if centre else "", case),
            "parties": await applicants(db, case),
            "applied_on": (application.filed_on or today).isoformat(),
            "decision": decision.value,
            "reasons": text,
            "judge": judge.display_name if judge else who.display_name,
            "clerk": "",
            "decided_on": today.isoformat(),
        },
        template_dir=template_dir,
        today=today,
        created_by=who.staff_id,
    )
    await seal_document(db, settings, court.id, ruling, staff_id=who.staff_id)
    application.decision = decision
    application.decision_reasons = text
    application.decided_at = utcnow()
    application.decided_by_id = who.staff_id
    application.ruling_document_id = ruling.id
    application.status = (
        ApplicationStatus.CONFIRMED if decision == Decision.CONFIRM else ApplicationStatus.REJECTED
    )
    await record(
        db,
        case,
        "confirmation_decided",
        actor_id=who.staff_id,
        actor_label=who.display_name,
        decision=decision.value,
        document_id=ruling.id,
    )
    logger.info("application %s decided: %s", application.id, decision.value)
    return ruling
