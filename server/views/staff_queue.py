"""``/``: the work queue (工作台) — what waits for the signed-in person, by role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import COURT_ROLES, case_scope
from server.auth.principal import StaffPrincipal
from server.confirmation.court import court_queue
from server.context import ctx
from server.db import Case, Consultation, FollowUp, Summons
from server.views.render import render
from server.views.staff_common import orgs_named, staff_or_login
from server.vocabulary import OPEN_STATUSES, CaseStatus, Role
from server.workflow.consultation import queue_for_department

BLOCK_SIZE = 20
NEAR_DEADLINE_DAYS = 3


@dataclass
class CaseBlock:
    """One block of the queue: a heading, how many cases match, the first few of them."""

    key: str
    count: int
    cases: list[Case]
    link: str = ""


@dataclass
class SummonsItem:
    """A summons waiting for the liaison's department, with its case."""

    summons: Summons
    consultation: Consultation
    case: Case


@dataclass
class Queue:
    """Everything the queue page shows."""

    blocks: list[CaseBlock] = field(default_factory=list)
    summonses: list[SummonsItem] = field(default_factory=list)
    follow_ups: list[tuple[FollowUp, Case]] = field(default_factory=list)


async def _block(
    db: AsyncSession,
    who: StaffPrincipal,
    key: str,
    where: list[ColumnElement[bool]],
    order: Any,
    link: str = "",
) -> CaseBlock:
    scoped = [case_scope(who), *where]
    count = (await db.execute(select(func.count(Case.id)).where(*scoped))).scalar_one()
    stmt: Select[Case] = select(Case).where(*scoped).order_by(*order).limit(BLOCK_SIZE)
    cases = list((await db.execute(stmt)).scalars())
    return CaseBlock(key=key, count=int(count), cases=cases, link=link)


OLDEST_FIRST = (Case.accepted_at, Case.id)
DEADLINE_FIRST = (Case.deadline_on, Case.id)


async def build_queue(db: AsyncSession, who: StaffPrincipal, today: dt.date) -> Queue:
    """The blocks that concern ``who``'s role, from the cases in their scope."""
    queue = Queue()
    is_open = Case.status.in_(OPEN_STATUSES)
    if who.role == Role.INTAKE_CLERK:
        for status in (CaseStatus.SUBMITTED, CaseStatus.ACCEPTED, CaseStatus.REGISTERED):
            queue.blocks.append(
                await _block(
                    db,
                    who,
                    f"queue.awaiting.{status.value}",
                    [Case.status == status],
                    OLDEST_FIRST,
                    f"/cases?status={status.value}",
                )
            )
    if who.role == Role.MEDIATOR:
        queue.blocks.append(
            await _block(
                db,
                who,
                "queue.routed_to_me",
                [Case.status == CaseStatus.ROUTED],
                OLDEST_FIRST,
                "/cases?status=routed",
            )
        )
        queue.blocks.append(
            await _block(
                db,
                who,
                "queue.mediating",
                [Case.status == CaseStatus.MEDIATING],
                DEADLINE_FIRST,
                "/cases?status=mediating",
            )
        )
    if who.role in (Role.SUPERVISOR, Role.ADMINISTRATOR):
        queue.blocks.append(
            await _block(
                db,
                who,
                "queue.overdue",
                [is_open, Case.deadline_on < today],
                DEADLINE_FIRST,
                "/cases?overdue=1",
            )
        )
        queue.blocks.append(
            await _block(
                db,
                who,
                "queue.near_deadline",
                [
                    is_open,
                    Case.deadline_on >= today,
                    Case.deadline_on <= today + dt.timedelta(days=NEAR_DEADLINE_DAYS),
                ],
                DEADLINE_FIRST,
            )
        )
    if who.role in COURT_ROLES:
        queue.blocks.append(
            await _block(db, who, "queue.court", [is_open], OLDEST_FIRST, "/cases?open_only=1")
        )
    if who.role == Role.DEPARTMENT_LIAISON:
        for summons in await queue_for_department(db, who.org_id):
            if summons.responded_at is not None:
                continue
            case = await db.get(Case, summons.consultation.case_id)
            if case is not None:
                queue.summonses.append(SummonsItem(summons, summons.consultation, case))
    visits = await db.execute(
        select(FollowUp, Case)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            FollowUp.assignee_id == who.staff_id,
            FollowUp.visited_at.is_(None),
            FollowUp.due_on <= today,
            case_scope(who),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(100)
    )
    queue.follow_ups = [(visit, case) for visit, case in visits]
    return queue


async def render_queue(
    request: web.Request,
    who: StaffPrincipal,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    """The queue page; ``extra`` carries a refused reply form's values and messages."""
    context = ctx(request)
    queue = await build_queue(context.db, who, context.today)
    all_cases = [c for block in queue.blocks for c in block.cases]
    all_cases += [item.case for item in queue.summonses]
    all_cases += [case for _, case in queue.follow_ups]
    orgs = await orgs_named(context.db, (c.centre_id for c in all_cases))
    done = request.query.get("done", "") if status == 200 else ""
    page: dict[str, Any] = {
        "queue": queue,
        "orgs": orgs,
        "done": done if done in QUEUE_DONE else "",
        "active_form": "",
        "form": {},
        "errors": {},
        # Filed applications for judicial confirmation, for judges and clerks of the court.
        "confirmations": await court_queue(context.db, who, context.today),
    }
    page.update(extra or {})
    return render(request, "staff/queue.html", page, status=status)


async def queue_page(request: web.Request) -> web.StreamResponse:
    """The signed-in person's work queue; visitors are sent to log in."""
    return await render_queue(request, staff_or_login(request))


QUEUE_DONE = ("reported",)


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/", queue_page)
