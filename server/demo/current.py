"""Current cases, from the last weeks, in every state of the workflow.

They are made by the workflow functions themselves (the same code the API calls), so they are
exactly what staff would have produced. Only the clock differs: a session hook moves every
timestamp the workflow takes from the real clock to the demo's clock, so the steps appear on
the days they are meant to have happened.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from server.auth.principal import PartyPrincipal, StaffPrincipal
from server.auth.sessions import staff_principal
from server.db import (
    Case,
    CaseEvent,
    Consultation,
    FollowUp,
    Rating,
    Routing,
    Staff,
    Summons,
    Supervision,
)
from server.demo.history import LAST_DAY
from server.demo.orgs import COUNTIES
from server.demo.people import People
from server.schemas.cases import (
    AcceptRequest,
    CloseRequest,
    ConsultationRequest,
    DeclineRequest,
    FeedbackRequest,
    FollowUpRequest,
    IntakeRequest,
    PartyIn,
    PublicDisputeRequest,
    RatingRequest,
    RouteRequest,
    SummonsReply,
    SupervisionRequest,
)
from server.vocabulary import Channel, DisputeType, Lane, NextStep, Outcome, PartyRole
from server.workflow import aftercare, closure, consultation, intake, routing, submission
from server.workflow import supervision as supervising

SEED = 20260101

# The timestamps each kind of row takes from the clock when the workflow writes it; the first
# table's are stamped on every new row (some are left to the column default).
STAMPED: dict[type[Any], tuple[str, ...]] = {
    CaseEvent: ("at",),
    Routing: ("at",),
    Supervision: ("at",),
    Rating: ("at",),
    Consultation: ("convened_at",),
}
CLOCKED: dict[type[Any], tuple[str, ...]] = {
    Case: ("accepted_at", "registered_at", "closed_at", "feedback_at"),
    Summons: ("responded_at",),
    FollowUp: ("visited_at",),
}


class Clock:
    """The demo's notion of now, moved forward step by step."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self.now = dt.datetime.now(dt.UTC)

    def set(self, day: dt.date, hour: int, minute: int) -> dt.date:
        """Move to ``hour:minute`` on ``day`` (the centre's calendar); returns ``day``."""
        local = dt.datetime.combine(day, dt.time(hour, minute), self.tz)
        self.now = min(local.astimezone(dt.UTC), dt.datetime.now(dt.UTC))
        return day

    def hook(self, session: Session, _context: UOWTransaction, _instances: object) -> None:
        """``before_flush``: timestamps set since the last flush become the demo clock's."""
        for obj in session.new:
            for name in STAMPED.get(type(obj), ()):
                setattr(obj, name, self.now)
        for obj in (*session.new, *session.dirty):
            state = inspect(obj)
            for name in CLOCKED.get(type(obj), ()):
                if state.attrs[name].history.added and getattr(obj, name) is not None:
                    setattr(obj, name, self.now)
            if isinstance(obj, Case) and state.attrs["closed_on"].history.added and obj.closed_on:
                obj.closed_on = self.today()

    def today(self) -> dt.date:
        """The clock's date on the centre's calendar."""
        return self.now.astimezone(self.tz).date()


@dataclass
class Demo:
    """What the scenarios need: the session, the clock, the accounts, a source of people."""

    db: AsyncSession
    clock: Clock
    staff: dict[str, Staff]
    today: dt.date
    people: People

    def who(self, username: str) -> StaffPrincipal:
        """The principal of a demo account."""
        return staff_principal(self.staff[username])

    async def day(self, days_ago: int, hour: int, minute: int = 0) -> dt.date:
        """Move the clock to ``days_ago`` days before today; returns that date.

        What the previous step wrote is flushed first, so it keeps the previous step's time.
        """
        await self.db.flush()
        return self.clock.set(self.today - dt.timedelta(days=days_ago), hour, minute)

    def party(
        self, role: PartyRole, name: str, male: bool, county: str = "620602", address: str = ""
    ) -> PartyIn:
        """A party with a valid ID number and a phone number."""
        info = next(c for c in COUNTIES if c.code == county)
        person = self.people.person(county, info.old_id_area, male=male, born_from=1955)
        return PartyIn(
            role=role,
            name=name,
            id_number=person.id_number,
            phone=person.phone,
            address=address,
        )


Scenario = Callable[[Demo], Awaitable[None]]


async def _intake(
    demo: Demo, username: str, title: str, dispute_type: DisputeType | None, **fields: Any
) -> Case:
    req = IntakeRequest(title=title, dispute_type=dispute_type, **fields)
    case, _tokens = await intake.intake(demo.db, demo.who(username), req, demo.clock.today())
    return case


async def online_submission_waiting(demo: Demo) -> None:
    """A citizen filed online last night; the window has not accepted it yet."""
    await demo.day(1, 20, 16)
    await submission.submit(
        demo.db,
        PublicDisputeRequest(
            centre_code="620602",
            name="赵玉珍",
            phone="13993512046",
            respondent_name="钱国华",
            title="楼上住户装修漏水，多次沟通无果",
            facts="我家住凉州区东关街某小区3号楼2单元401室，楼上501室住户钱国华今年装修后卫生间"
            "一直往我家渗水，客厅和卫生间天花板发霉脱落。找过他三次，他说不是他家的问题，"
            "物业也协调不了。",
            claims="请求综治中心协调楼上维修防水，赔偿我家天花板和墙面的修复费用。",
        ),
        demo.today - dt.timedelta(days=1),
    )


async def online_submission_declined(demo: Demo) -> None:
    """An online submission the window declined, with the reason the citizen sees."""
    case, _token = await submission.submit(
        demo.db,
        PublicDisputeRequest(
            centre_code="620602",
            name="高振华",
            phone="18993501327",
            respondent_name="苏建军",
            title="要求重新处理已判决的借款纠纷",
            facts="我和苏建军的借款纠纷去年已经由凉州区人民法院判决，我认为判决不公，"
            "希望综治中心重新调解。",
            claims="请求重新调解借款纠纷。",
        ),
        await demo.day(6, 21, 40),
    )
    await demo.day(5, 9, 12)
    await intake.decline_submission(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        DeclineRequest(
            reason="该纠纷已经人民法院作出生效判决，不属于人民调解受理范围。如对判决不服，"
            "可依法向人民法院申请再审，或到凉州区人民法院诉讼服务中心咨询。"
        ),
    )


async def accepted_unregistered(demo: Demo) -> None:
    """Taken in at a township window this afternoon; type and number still to come."""
    await demo.day(1, 16, 20)
    await _intake(
        demo,
        "hy_clerk",
        "马建军与马志强院墙纠纷",
        None,
        channel=Channel.WALK_IN,
        facts="马建军与马志强系黄羊镇新地村四组前后院邻居。马志强翻建院墙时向马建军一侧"
        "多占约三十厘米，双方发生争吵，马建军到镇综治中心反映。",
        claims="请求马志强按原界址砌墙。",
        parties=[
            demo.party(PartyRole.APPLICANT, "马建军", True, address="凉州区黄羊镇新地村四组"),
            demo.party(PartyRole.RESPONDENT, "马志强", True, address="凉州区黄羊镇新地村四组"),
        ],
    )


async def registered(demo: Demo) -> None:
    """Phoned in to Minqin's centre and registered: numbered, with its time limit."""
    await demo.day(2, 10, 5)
    await _intake(
        demo,
        "mq_clerk",
        "蔡国强与魏永平灌溉用水纠纷",
        DisputeType.LAND,
        channel=Channel.HOTLINE,
        facts="东湖镇红英村春灌期间，魏永平未按轮灌次序提前开口放水，蔡国强家十二亩"
        "小麦未能按时浇灌，双方在渠边发生争执。",
        claims="请求明确轮灌次序，赔偿减产损失。",
        parties=[
            demo.party(PartyRole.APPLICANT, "蔡国强", True, "620621", "民勤县东湖镇红英村二组"),
            demo.party(PartyRole.RESPONDENT, "魏永平", True, "620621", "民勤县东湖镇红英村二组"),
        ],
    )


async def routed_to_laowang(demo: Demo) -> None:
    """Registered at Liangzhou's centre and routed to 老王说理室."""
    await demo.day(4, 9, 30)
    case = await _intake(
        demo,
        "lz_clerk",
        "王秀英与李德明宅基地界址纠纷",
        DisputeType.NEIGHBOUR,
        channel=Channel.WALK_IN,
        facts="王秀英与李德明系东大街街道大什字社区老住户，两家因后院界墙位置争执多年，"
        "近日李德明在界墙处搭建彩钢棚，双方矛盾激化。",
        claims="请求李德明拆除彩钢棚，按原界址确定界墙。",
        parties=[
            demo.party(PartyRole.APPLICANT, "王秀英", False, address="凉州区东大街街道大什字社区"),
            demo.party(PartyRole.RESPONDENT, "李德明", True, address="凉州区东大街街道大什字社区"),
        ],
    )
    await demo.day(4, 10, 10)
    await routing.route(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        RouteRequest(
            target="room",
            org_code="620602-LWSL",
            reason="双方积怨较深，均信任老王，转老王说理室说和。",
        ),
    )


async def mediating_under_supervision(demo: Demo) -> None:
    """With a mediator, taken up, and followed by a supervisor's note."""
    await demo.day(9, 10, 40)
    case = await _intake(
        demo,
        "lz_clerk",
        "张丽娟与刘志强离婚纠纷",
        DisputeType.MARRIAGE_FAMILY,
        channel=Channel.WALK_IN,
        facts="张丽娟与刘志强于2012年登记结婚，育有一子一女。刘志强长期在新疆务工，"
        "双方常因家庭开支争吵，张丽娟要求离婚，双方对子女抚养和住房归属意见不一。",
        claims="请求调解离婚，两个孩子由张丽娟抚养，住房归张丽娟所有。",
        parties=[
            demo.party(PartyRole.APPLICANT, "张丽娟", False, address="凉州区清源镇发展村三组"),
            demo.party(PartyRole.RESPONDENT, "刘志强", True, address="凉州区清源镇发展村三组"),
        ],
    )
    await demo.day(9, 11, 5)
    await routing.route(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        RouteRequest(
            target="mediator",
            mediator_id=demo.staff["lz_mediator"].id,
            reason="涉及未成年子女抚养，指定经验丰富的调解员办理。",
        ),
    )
    await demo.day(8, 9, 30)
    await routing.start_mediation(demo.db, demo.who("lz_mediator"), case.id)
    await demo.day(2, 15, 20)
    await supervising.supervise(
        demo.db,
        demo.who("lz_supervisor"),
        case.id,
        SupervisionRequest(
            note="请于本周内组织双方面对面调解，重点做好两个孩子的抚养安排，必要时请妇联参与，"
            "及时报告进展。",
            respond_by=demo.today + dt.timedelta(days=3),
        ),
        demo.today - dt.timedelta(days=2),
    )


async def overdue(demo: Demo) -> None:
    """A fast-lane dispute past its time limit, still with 罗文明调解室."""
    await demo.day(7, 14, 0)
    case = await _intake(
        demo,
        "lz_clerk",
        "徐春生与田玉林买卖合同纠纷",
        DisputeType.OTHER,
        channel=Channel.WALK_IN,
        lane=Lane.FAST,
        facts="徐春生向田玉林出售肉羊六十只，货款共计九万六千元，田玉林提货后支付六万元，"
        "余款三万六千元以羊只有病为由拒付。",
        claims="请求田玉林支付剩余货款三万六千元。",
        parties=[
            demo.party(PartyRole.APPLICANT, "徐春生", True, address="凉州区永昌镇"),
            demo.party(PartyRole.RESPONDENT, "田玉林", True, address="凉州区高坝镇"),
        ],
    )
    await demo.day(7, 14, 30)
    await routing.route(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        RouteRequest(target="room", org_code="620602-LWM", reason="当事人申请由罗文明调解室调解。"),
    )
    await demo.day(6, 9, 0)
    await routing.start_mediation(demo.db, demo.who("luowenming"), case.id)


async def joint_consultation(demo: Demo) -> None:
    """中心吹哨、部门报到: housing has reported, the labour bureau not yet."""
    await demo.day(6, 9, 15)
    case = await _intake(
        demo,
        "lz_clerk",
        "韩国庆等5人与甘肃某建筑劳务有限公司追索劳动报酬纠纷",
        DisputeType.LABOUR,
        channel=Channel.WALK_IN,
        facts="韩国庆等5人在某安置小区建设工地务工，劳务分包单位甘肃某建筑劳务有限公司"
        "以总包单位未结算工程款为由，拖欠5人工资共计十二万八千元。",
        claims="请求支付拖欠工资十二万八千元。",
        parties=[
            demo.party(PartyRole.APPLICANT, "韩国庆", True, address="凉州区和平镇"),
            demo.party(PartyRole.APPLICANT, "韩国华", True, address="凉州区和平镇"),
            demo.party(PartyRole.APPLICANT, "段玉成", True, address="古浪县土门镇"),
            demo.party(PartyRole.APPLICANT, "雷春林", True, address="凉州区四坝镇"),
            demo.party(PartyRole.APPLICANT, "贾小龙", True, address="凉州区四坝镇"),
            PartyIn(
                role=PartyRole.RESPONDENT,
                name="甘肃某建筑劳务有限公司",
                phone="0935-2218806",
                address="凉州区宣武街",
            ),
        ],
    )
    await demo.day(6, 9, 40)
    await routing.route(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        RouteRequest(
            target="mediator",
            mediator_id=demo.staff["lz_mediator"].id,
            reason="农民工欠薪，限时办结，指定专人跟进。",
        ),
    )
    await demo.day(5, 10, 0)
    await consultation.convene(
        demo.db,
        demo.who("lz_supervisor"),
        case.id,
        ConsultationRequest(
            topic="某安置小区项目拖欠农民工工资，涉及总包单位工程款结算和劳务分包。请人社局"
            "核实欠薪人数和金额，住建局督促总包单位落实工资专户和工资保证金。",
            department_codes=["620602-RS", "620602-ZJ"],
            respond_by=demo.today + dt.timedelta(days=2),
        ),
        demo.today - dt.timedelta(days=5),
    )
    await demo.day(5, 10, 30)
    await routing.start_mediation(demo.db, demo.who("lz_mediator"), case.id)
    summons = (
        await demo.db.execute(
            select(Summons)
            .join(Consultation)
            .where(
                Consultation.case_id == case.id,
                Summons.department_id == demo.staff["lz_housing_liaison"].org_id,
            )
        )
    ).scalar_one()
    await demo.day(3, 16, 45)
    await consultation.reply(
        demo.db,
        demo.who("lz_housing_liaison"),
        summons.id,
        SummonsReply(
            response="已约谈总包单位，总包单位承诺工程款结算后五个工作日内通过工资专户代发"
            "农民工工资，住建局将跟踪落实。"
        ),
        demo.today - dt.timedelta(days=3),
    )


async def routed_to_court(demo: Demo) -> None:
    """Sent to the basic-level court for mediation before suit and judicial confirmation."""
    await demo.day(5, 15, 10)
    case = await _intake(
        demo,
        "lz_clerk",
        "杨海燕与董建军民间借贷纠纷",
        DisputeType.OTHER,
        channel=Channel.WALK_IN,
        facts="董建军于2023年向杨海燕借款八万元用于经营餐馆，约定两年内归还，到期后仅归还两万元。",
        claims="请求董建军归还借款六万元。",
        parties=[
            demo.party(PartyRole.APPLICANT, "杨海燕", False, address="凉州区西大街"),
            demo.party(PartyRole.RESPONDENT, "董建军", True, address="凉州区东关街"),
        ],
    )
    await demo.day(5, 15, 40)
    await routing.route(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        RouteRequest(
            target="court",
            org_code="620602-RMFY",
            reason="双方已有分期还款意向，申请诉前调解后由法院司法确认，转凉州区人民法院诉调对接。",
        ),
    )


async def closed_mediated(demo: Demo) -> None:
    """Mediated and closed: feedback given, rated by the applicant, a follow-up visit due."""
    await demo.day(16, 9, 50)
    case = await _intake(
        demo,
        "lz_clerk",
        "孙桂兰与蒋振华房屋漏水纠纷",
        DisputeType.NEIGHBOUR,
        channel=Channel.WALK_IN,
        facts="蒋振华家卫生间防水层损坏，长期向楼下孙桂兰家渗水，造成天花板和墙面发霉脱落。",
        claims="请求蒋振华维修防水，并赔偿装修损失六千元。",
        parties=[
            demo.party(PartyRole.APPLICANT, "孙桂兰", False, address="凉州区西关街"),
            demo.party(PartyRole.RESPONDENT, "蒋振华", True, address="凉州区西关街"),
        ],
    )
    await demo.day(16, 10, 20)
    await routing.route(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        RouteRequest(
            target="mediator",
            mediator_id=demo.staff["lz_mediator"].id,
            reason="楼上楼下漏水，现场查看后调解。",
        ),
    )
    await demo.day(15, 9, 0)
    await routing.start_mediation(demo.db, demo.who("lz_mediator"), case.id)
    await demo.day(12, 16, 30)
    await closure.close(
        demo.db,
        demo.who("lz_mediator"),
        case.id,
        CloseRequest(
            outcome=Outcome.MEDIATED,
            note="经现场查看和调解，双方自愿达成协议：蒋振华十日内重做卫生间防水，"
            "赔偿孙桂兰装修损失四千五百元，当场支付。",
        ),
    )
    await demo.day(12, 17, 0)
    await closure.give_feedback(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        FeedbackRequest(note="已当面向双方送达调解协议书，并告知可在三十日内共同申请司法确认。"),
    )
    await aftercare.schedule_follow_up(
        demo.db,
        demo.who("lz_clerk"),
        case.id,
        FollowUpRequest(
            due_on=demo.today + dt.timedelta(days=3), assignee_id=demo.staff["lz_mediator"].id
        ),
    )
    await demo.day(11, 19, 12)
    applicant = next(p for p in case.parties if p.role == PartyRole.APPLICANT)
    await aftercare.rate(
        demo.db,
        PartyPrincipal(party_id=applicant.id, case_id=case.id, name=applicant.name),
        RatingRequest(score=5, comment="调解员上门查看，当天就谈妥了，很满意。"),
    )


async def closed_not_mediated(demo: Demo) -> None:
    """Not mediated: the workers were pointed to labour arbitration."""
    await demo.day(20, 10, 30)
    case = await _intake(
        demo,
        "mq_clerk",
        "柴玉梅与祁永军追索劳动报酬纠纷",
        DisputeType.LABOUR,
        channel=Channel.WALK_IN,
        facts="柴玉梅去年在祁永军的蜜瓜地务工，约定日工资一百八十元，共工作六十二天，"
        "祁永军以瓜价下跌为由只支付了五千元。",
        claims="请求支付剩余工资六千一百六十元。",
        parties=[
            demo.party(PartyRole.APPLICANT, "柴玉梅", False, "620621", "民勤县收成镇"),
            demo.party(PartyRole.RESPONDENT, "祁永军", True, "620621", "民勤县收成镇"),
        ],
    )
    await demo.day(20, 11, 0)
    await routing.route(
        demo.db,
        demo.who("mq_clerk"),
        case.id,
        RouteRequest(
            target="mediator",
            mediator_id=demo.staff["mq_mediator"].id,
            reason="劳资纠纷，指定调解员办理。",
        ),
    )
    await demo.day(19, 9, 40)
    await routing.start_mediation(demo.db, demo.who("mq_mediator"), case.id)
    await demo.day(10, 15, 0)
    await closure.close(
        demo.db,
        demo.who("mq_mediator"),
        case.id,
        CloseRequest(
            outcome=Outcome.NOT_MEDIATED,
            next_step=NextStep.ARBITRATION,
            note="被申请人对工作天数不予认可，经两次调解未能达成协议。已引导申请人向民勤县"
            "劳动人事争议仲裁委员会申请仲裁，并协助整理考勤证据。",
        ),
    )
    await demo.day(10, 15, 30)
    await closure.give_feedback(
        demo.db,
        demo.who("mq_mediator"),
        case.id,
        FeedbackRequest(note="已当面告知申请人调解终止及申请劳动仲裁的途径。"),
    )


async def with_mayouxin(demo: Demo) -> None:
    """Gulang: a betrothal-gift dispute with 马有信调解室."""
    await demo.day(3, 9, 45)
    case = await _intake(
        demo,
        "gl_clerk",
        "朱建军与何春花彩礼返还纠纷",
        DisputeType.MARRIAGE_FAMILY,
        channel=Channel.REPORTED_FROM_BELOW,
        facts="朱建军之子与何春花之女于去年订婚，朱建军家给付彩礼十六万八千元，"
        "双方未办理结婚登记即解除婚约，对彩礼返还数额争执不下。",
        claims="请求返还彩礼十六万八千元。",
        parties=[
            demo.party(PartyRole.APPLICANT, "朱建军", True, "620622", "古浪县黄花滩镇富民新村"),
            demo.party(PartyRole.RESPONDENT, "何春花", False, "620622", "古浪县大靖镇"),
        ],
    )
    await demo.day(3, 10, 20)
    await routing.route(
        demo.db,
        demo.who("gl_clerk"),
        case.id,
        RouteRequest(target="room", org_code="620622-MYX", reason="彩礼纠纷，转马有信调解室调解。"),
    )
    await demo.day(2, 9, 30)
    await routing.start_mediation(demo.db, demo.who("mayouxin"), case.id)


async def remote_in_tianzhu(demo: Demo) -> None:
    """Tianzhu: filed online, accepted and registered, mediated over video."""
    case, _token = await submission.submit(
        demo.db,
        PublicDisputeRequest(
            centre_code="620623",
            name="扎西才让",
            phone="18093538206",
            respondent_name="多杰",
            title="草场相邻，对方牛羊越界",
            facts="我家草场在抓喜秀龙镇，与多杰家草场相邻。今年夏季多杰家放牧超载，"
            "牛羊经常越界进入我家草场，草场退化严重。我在外地放牧，希望能视频调解。",
            claims="请求对方按核定载畜量放牧，赔偿草场损失。",
        ),
        await demo.day(4, 21, 5),
    )
    await demo.day(3, 9, 20)
    await intake.accept_submission(
        demo.db,
        demo.who("tz_clerk"),
        case.id,
        AcceptRequest(dispute_type=DisputeType.ENVIRONMENT, lane=Lane.NORMAL),
        demo.today - dt.timedelta(days=3),
    )
    await demo.day(3, 9, 50)
    await routing.route(
        demo.db,
        demo.who("tz_clerk"),
        case.id,
        RouteRequest(
            target="mediator",
            mediator_id=demo.staff["tz_mediator"].id,
            reason="申请人在外放牧，安排远程视频调解。",
        ),
    )
    await demo.day(1, 15, 0)
    await routing.start_mediation(demo.db, demo.who("tz_mediator"), case.id)


async def transferred_by_city(demo: Demo) -> None:
    """A hotline call at the city centre, transferred down to Liangzhou (属地管理)."""
    await demo.day(3, 11, 0)
    case = await _intake(
        demo,
        "ww_clerk",
        "冯秀英与武威市某医院医疗损害责任纠纷",
        DisputeType.MEDICAL,
        channel=Channel.HOTLINE,
        facts="冯秀英之父因股骨颈骨折在武威市某医院手术，术后出现感染，再次住院治疗，"
        "冯秀英认为医院存在诊疗过错。",
        claims="请求医院赔偿二次住院医疗费、护理费等损失。",
        parties=[
            demo.party(PartyRole.APPLICANT, "冯秀英", False, address="凉州区武南镇"),
            PartyIn(
                role=PartyRole.RESPONDENT,
                name="武威市某医院",
                phone="0935-2265120",
                address="凉州区",
            ),
        ],
    )
    await demo.day(3, 11, 30)
    await routing.route(
        demo.db,
        demo.who("ww_clerk"),
        case.id,
        RouteRequest(
            target="centre",
            org_code="620602",
            reason="属地管理，转凉州区综治中心，由医疗纠纷调解工作室办理。",
        ),
    )


SCENARIOS: tuple[tuple[str, Scenario], ...] = (
    ("楼上住户装修漏水，多次沟通无果", online_submission_waiting),
    ("要求重新处理已判决的借款纠纷", online_submission_declined),
    ("马建军与马志强院墙纠纷", accepted_unregistered),
    ("蔡国强与魏永平灌溉用水纠纷", registered),
    ("王秀英与李德明宅基地界址纠纷", routed_to_laowang),
    ("张丽娟与刘志强离婚纠纷", mediating_under_supervision),
    ("徐春生与田玉林买卖合同纠纷", overdue),
    ("韩国庆等5人与甘肃某建筑劳务有限公司追索劳动报酬纠纷", joint_consultation),
    ("杨海燕与董建军民间借贷纠纷", routed_to_court),
    ("孙桂兰与蒋振华房屋漏水纠纷", closed_mediated),
    ("柴玉梅与祁永军追索劳动报酬纠纷", closed_not_mediated),
    ("朱建军与何春花彩礼返还纠纷", with_mayouxin),
    ("草场相邻，对方牛羊越界", remote_in_tianzhu),
    ("冯秀英与武威市某医院医疗损害责任纠纷", transferred_by_city),
)


async def add_current_cases(
    db: AsyncSession, staff: dict[str, Staff], today: dt.date, timezone: str
) -> int:
    """Run the scenarios whose case is not there yet; returns how many ran."""
    existing = set(
        (
            await db.execute(
                select(Case.title).where(
                    Case.title.in_([title for title, _ in SCENARIOS]), Case.accepted_on > LAST_DAY
                )
            )
        ).scalars()
    )
    clock = Clock(timezone)
    demo = Demo(db, clock, staff, today, People(random.Random(SEED)))
    event.listen(db.sync_session, "before_flush", clock.hook)
    try:
        ran = 0
        for title, scenario in SCENARIOS:
            if title in existing:
                continue
            # Each scenario draws its own ID numbers, whichever others already ran.
            demo.people = People(random.Random(f"{SEED}:{title}"))
            await scenario(demo)
            await db.flush()
            ran += 1
        return ran
    finally:
        event.remove(db.sync_session, "before_flush", clock.hook)
