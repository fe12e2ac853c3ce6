"""``bilin demo-session``: a demo case in 凉州区 with a hearing starting now, and its four links.

Uses the Wuwei demo's organisations and accounts when they are loaded; otherwise creates the few
it needs (a city and county centre, a court, an intake clerk, a mediator and a judge) with random
passwords. Each call makes a new case and hearing: the links of earlier calls keep working until
they expire.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import create_staff
from server.auth.sessions import staff_principal
from server.db import Organisation, Staff
from server.db.base import subtree_range, utcnow
from server.db.engine import create_engine, create_sessionmaker
from server.hearings.presenters import join_url
from server.hearings.scheduling import schedule
from server.hearings.vocabulary import HearingKind, ParticipantKind, ParticipantRole
from server.schemas.cases import IntakeRequest, PartyIn, RouteRequest
from server.schemas.hearings import ParticipantIn, ScheduleRequest
from server.settings import Settings
from server.validation import id_number_check_digit
from server.vocabulary import Channel, DisputeType, OrgKind, PartyRole, Role
from server.workflow import intake, routing

COUNTY_CODE = "620602"  # 凉州区
CITY_CODE = "620600"  # 武威市
COURT_CODE = "620602-C01"


@dataclass
class DemoSession:
    """What ``bilin demo-session`` prints, and the accounts it had to create."""

    case_id: int
    session_id: int
    links: dict[str, str]
    created_accounts: dict[str, str] = field(default_factory=dict)  # username → password

    def as_json(self) -> dict[str, object]:
        """The one JSON object printed on standard output."""
        return {"case_id": self.case_id, "session_id": self.session_id, "links": self.links}


def _id_number(area: str, birth: str, seq: str) -> str:
    first17 = area + birth + seq
    return first17 + id_number_check_digit(first17)


async def _org(
    db: AsyncSession,
    code: str,
    name: str,
    kind: OrgKind,
    parent: Organisation | None,
    abbreviation: str = "",
) -> Organisation:
    found = (
        await db.execute(select(Organisation).where(Organisation.code == code))
    ).scalar_one_or_none()
    if found is not None:
        return found
    org = Organisation(
        code=code,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        path="",
        abbreviation=abbreviation,
    )
    db.add(org)
    await db.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    await db.flush()
    return org


async def _staff_under(
    db: AsyncSession, org: Organisation, roles: tuple[Role, ...], exact: bool = False
) -> Staff | None:
    low, high = subtree_range(org.path)
    where = (
        Organisation.id == org.id
        if exact
        else (Organisation.path >= low) & (Organisation.path < high)
    )
    return (
        await db.execute(
            select(Staff)
            .join(Organisation, Organisation.id == Staff.org_id)
            .where(Staff.active.is_(True), Staff.role.in_(roles), where)
            .order_by(Staff.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def _account(
    db: AsyncSession,
    demo: DemoSession,
    org: Organisation,
    roles: tuple[Role, ...],
    username: str,
    display_name: str,
    exact: bool = False,
) -> Staff:
    existing = await _staff_under(db, org, roles, exact)
    if existing is not None:
        return existing
    taken = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one_or_none()
    if taken is not None:
        return taken
    password = secrets.token_urlsafe(12)
    staff = await create_staff(db, username, roles[0], org.code, password, display_name)
    await db.refresh(staff, ["org"])
    demo.created_accounts[username] = password
    return staff


async def create_demo_session(db: AsyncSession, settings: Settings) -> DemoSession:
    """Create the case, route it to a mediator and the court, and schedule a hearing starting
    now with an applicant, a respondent, the mediator and a judge. The caller commits."""
    demo = DemoSession(case_id=0, session_id=0, links={})
    county = (
        await db.execute(select(Organisation).where(Organisation.code == COUNTY_CODE))
    ).scalar_one_or_none()
    if county is None:
        city = await _org(db, CITY_CODE, "武威市综治中心", OrgKind.CITY, None, "武")
        county = await _org(db, COUNTY_CODE, "凉州区综治中心", OrgKind.COUNTY, city, "凉")
    low, high = subtree_range(county.path)
    court = (
        await db.execute(
            select(Organisation)
            .where(
                Organisation.kind == OrgKind.COURT,
                Organisation.path >= low,
                Organisation.path < high,
            )
            .order_by(Organisation.id)
            .limit(1)
        )
    ).scalar_one_or_none() or await _org(db, COURT_CODE, "凉州区人民法院", OrgKind.COURT, county)
    clerk = await _account(
        db,
        demo,
        county,
        (Role.INTAKE_CLERK, Role.SUPERVISOR),
        "demo_clerk",
        "演示受理员",
        exact=True,
    )
    mediator = await _account(db, demo, county, (Role.MEDIATOR,), "demo_mediator", "演示调解员")
    judge = await _account(db, demo, court, (Role.JUDGE,), "demo_judge", "演示法官")

    at_window = staff_principal(clerk)
    case, _ = await intake.intake(
        db,
        at_window,
        IntakeRequest(
            channel=Channel.WALK_IN,
            centre_code=county.code,
            title="邻里漏水纠纷（视频调解演示）",
            facts="楼上住户卫生间漏水，导致楼下住户天花板受损，双方就维修和赔偿协商未果。",
            claims="请求对方修复漏水并赔偿损失 3000 元。",
            dispute_type=DisputeType.NEIGHBOUR,
            parties=[
                PartyIn(
                    role=PartyRole.APPLICANT,
                    name="张明",
                    id_number=_id_number("620602", "19850312", "021"),
                    phone="13800000001",
                ),
                PartyIn(
                    role=PartyRole.RESPONDENT,
                    name="李华",
                    id_number=_id_number("620602", "19790521", "034"),
                    phone="13800000002",
                ),
            ],
        ),
        settings.today(),
    )
    await routing.route(
        db,
        at_window,
        case.id,
        RouteRequest(target="mediator", mediator_id=mediator.id, reason="视频调解演示"),
    )
    await routing.route(
        db,
        at_window,
        case.id,
        RouteRequest(target="court", org_code=court.code, reason="诉调对接：法官参加调解"),
    )
    await routing.start_mediation(db, staff_principal(mediator), case.id)
    applicant, respondent = case.parties[0], case.parties[1]
    hearing, links = await schedule(
        db,
        staff_principal(mediator),
        case.id,
        ScheduleRequest(
            kind=HearingKind.MEDIATION,
            starts_at=utcnow().replace(microsecond=0),
            note="演示：调解员、双方当事人和法官在四个浏览器窗口中参加。",
            participants=[
                ParticipantIn(
                    kind=ParticipantKind.STAFF,
                    role=ParticipantRole.MEDIATOR,
                    staff_id=mediator.id,
                ),
                ParticipantIn(
                    kind=ParticipantKind.PARTY,
                    role=ParticipantRole.APPLICANT,
                    party_id=applicant.id,
                ),
                ParticipantIn(
                    kind=ParticipantKind.PARTY,
                    role=ParticipantRole.RESPONDENT,
                    party_id=respondent.id,
                ),
                ParticipantIn(
                    kind=ParticipantKind.STAFF, role=ParticipantRole.JUDGE, staff_id=judge.id
                ),
            ],
        ),
        timezone=settings.timezone,
    )
    roles = {seat.id: str(seat.role) for seat in hearing.participants}
    demo.case_id = case.id
    demo.session_id = hearing.id
    demo.links = {
        roles[link.participant_id]: join_url(settings.base_url, link.token) for link in links
    }
    return demo


async def demo_session(settings: Settings) -> DemoSession:
    """:func:`create_demo_session` in the database of ``settings``, committed."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            demo = await create_demo_session(db, settings)
            await db.commit()
            return demo
    finally:
        await engine.dispose()
