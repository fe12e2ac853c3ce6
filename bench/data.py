"""A Wuwei-like organisation tree and N cases with parties, generated deterministically.

The tree follows DOMAIN.md: 武威市 with its four counties, about ten townships each, about ten
villages per township, specialised and personal mediation rooms, stationed departments and a
basic-level court per county. Cases are spread over several years (volume growing year by
year, fewer on weekends), over the levels (most disputes stay at townships and villages), over
the published dispute types and over lanes; a case's status, outcome, deadline and follow-up
records follow from its age. Names come from a weighted surname / given-name pool (and a
Tibetan name pool in 天祝).

Rows are plain tuples in the column order of :data:`COLUMNS`; datetimes are naive UTC (the
loader converts them for each backend). Everything derives from ``random.Random(seed)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from server.validation import id_number_check_digit
from server.vocabulary import (
    CaseStatus,
    Channel,
    DisputeType,
    FollowUpResult,
    Lane,
    NextStep,
    OrgKind,
    Outcome,
    PartyRole,
    Role,
)

# Bump when the generated data changes, so cached databases are rebuilt.
GENERATOR_VERSION = 1
SEED = 620600
FIRST_DAY = dt.date(2021, 1, 1)
LOCAL_OFFSET = dt.timedelta(hours=8)  # Asia/Shanghai has no daylight saving time

COLUMNS: dict[str, tuple[str, ...]] = {
    "organisations": (
        "id", "code", "name", "kind", "parent_id", "path", "abbreviation", "room_speciality",
    ),
    "staff": (
        "id", "username", "display_name", "role", "org_id", "password_hash", "active", "locale",
        "created_at",
    ),
    "cases": (
        "id", "number", "status", "channel", "dispute_type", "lane", "title", "facts", "claims",
        "centre_id", "scope_path", "room_id", "department_id", "court_id", "mediator_id",
        "first_receiver_id", "accepted_on", "accepted_at", "registered_at", "deadline_on",
        "closed_at", "closed_on", "outcome", "next_step", "outcome_note", "feedback_at",
        "feedback_note",
    ),
    "parties": (
        "id", "case_id", "role", "represents_id", "name", "id_number", "phone", "address",
        "link_token_hash",
    ),
    "routings": (
        "id", "case_id", "at", "by_id", "from_centre_id", "to_org_id", "to_mediator_id", "lane",
        "reason",
    ),
    "supervisions": ("id", "case_id", "at", "by_id", "note", "respond_by"),
    "consultations": ("id", "case_id", "convened_at", "convened_by_id", "topic", "respond_by"),
    "summonses": (
        "id", "consultation_id", "department_id", "responded_at", "responder_id", "response",
        "status",
    ),
    "ratings": ("id", "case_id", "party_id", "score", "comment", "at"),
    "follow_ups": (
        "id", "case_id", "due_on", "assignee_id", "scheduled_by_id", "visited_at", "result",
        "note",
    ),
    "case_number_counters": ("org_id", "year", "last"),
}  # fmt: skip

# --- the tree ----------------------------------------------------------------------------

# code, name, abbreviation, share of the city's cases, townships (the first is the busiest)
COUNTIES: list[tuple[str, str, str, float, list[str]]] = [
    ("620602", "凉州区", "凉", 0.45, [
        "东大街街道", "西大街街道", "黄羊镇", "武南镇", "清源镇", "永昌镇", "双城镇", "丰乐镇",
        "高坝镇", "金羊镇", "和平镇",
    ]),
    ("620621", "民勤县", "民", 0.17, [
        "三雷镇", "东坝镇", "泉山镇", "西渠镇", "东湖镇", "红沙岗镇", "昌宁镇", "薛百镇", "大坝镇",
        "苏武镇",
    ]),
    ("620622", "古浪县", "古", 0.20, [
        "古浪镇", "泗水镇", "土门镇", "大靖镇", "裴家营镇", "海子滩镇", "定宁镇", "黄羊川镇",
        "黑松驿镇", "永丰滩镇",
    ]),
    ("620623", "天祝藏族自治县", "天", 0.18, [
        "华藏寺镇", "打柴沟镇", "安远镇", "炭山岭镇", "哈溪镇", "赛什斯镇", "石门镇", "松山镇",
        "天堂镇", "朵什镇",
    ]),
]  # fmt: skip

VILLAGE_STEMS = (
    "东关", "西关", "南关", "北关", "王家", "李家", "张家", "刘家", "陈家", "杨家", "赵家",
    "马家", "红星", "红光", "新华", "前进", "胜利", "团结", "和平", "光明", "永丰", "五星",
    "上庄", "下庄", "中坝", "沙河", "柳树", "白塔", "黄花", "青松", "金沙", "河湾", "大湾",
    "高台", "古城", "新庄", "旧庄", "南湖", "北沟", "石桥",
)  # fmt: skip

SPECIALISED_ROOMS: list[tuple[str, DisputeType]] = [
    ("婚姻家庭调解工作室", DisputeType.MARRIAGE_FAMILY),
    ("道路交通事故调解工作室", DisputeType.ROAD_TRAFFIC),
    ("劳动争议调解工作室", DisputeType.LABOUR),
    ("医疗纠纷调解工作室", DisputeType.MEDICAL),
    ("物业纠纷调解工作室", DisputeType.PROPERTY_MANAGEMENT),
    ("土地承包调解工作室", DisputeType.LAND_CONTRACT),
    ("环境保护调解工作室", DisputeType.ENVIRONMENT),
]
PERSONAL_ROOMS = {
    "620602": ["老王说理室", "罗文明调解室", "李大姐调解室", "金牌调解室"],
    "620621": ["沙乡调解室"],
    "620622": ["马有信调解室", "老杨调解室"],
    "620623": ["才让调解室"],
}
DEPARTMENTS = ("公安局", "检察院", "司法局", "信访局", "住建局", "人社局", "民政局")

# --- names -------------------------------------------------------------------------------

SURNAMES: list[tuple[str, float]] = [
    ("王", 7.1), ("李", 7.0), ("张", 6.8), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.2),
    ("赵", 2.1), ("吴", 2.0), ("周", 1.9), ("徐", 1.5), ("孙", 1.5), ("马", 1.4), ("朱", 1.3),
    ("胡", 1.3), ("郭", 1.2), ("何", 1.2), ("高", 1.1), ("林", 1.1), ("罗", 1.0), ("郑", 1.0),
    ("梁", 0.9), ("谢", 0.8), ("宋", 0.8), ("唐", 0.8), ("许", 0.7), ("韩", 0.7), ("冯", 0.7),
    ("邓", 0.7), ("曹", 0.7), ("彭", 0.6), ("曾", 0.6), ("肖", 0.6), ("田", 0.6), ("董", 0.6),
    ("袁", 0.5), ("潘", 0.5), ("于", 0.5), ("蒋", 0.5), ("蔡", 0.5), ("余", 0.5), ("杜", 0.5),
    ("叶", 0.4), ("程", 0.4), ("苏", 0.4), ("魏", 0.4), ("吕", 0.4), ("丁", 0.4), ("任", 0.4),
    ("沈", 0.4), ("姚", 0.4), ("卢", 0.4), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("汪", 0.3), ("范", 0.3), ("金", 0.3), ("石", 0.3), ("廖", 0.3), ("贾", 0.3),
    ("夏", 0.3), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2), ("熊", 0.2),
    ("秦", 0.2), ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2),
    ("雷", 0.2), ("侯", 0.2), ("龙", 0.2), ("史", 0.2), ("陶", 0.2), ("贺", 0.1), ("顾", 0.1),
    ("毛", 0.1), ("郝", 0.1), ("龚", 0.1), ("邵", 0.1), ("万", 0.1), ("钱", 0.1), ("严", 0.1),
    ("武", 0.1), ("戴", 0.1), ("莫", 0.1), ("孔", 0.1), ("欧阳", 0.05), ("司马", 0.02),
    ("诸葛", 0.01), ("上官", 0.01),
]  # fmt: skip
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉国鹏斌宇浩凯健俊帆旭宁龙林"
    "欣佳雪梅琳晶婷倩颖慧莉丹玲燕云峰波春海亮飞鑫成新东志永福生德荣兴喜有忠金宝贵山祥瑞凤花琴"
    "珍彩蓉莲芬菊雯月晓小子天家嘉思雨梓涵轩诗博泽润清正安"
)
TIBETAN = (
    "才让", "卓玛", "扎西", "多杰", "拉毛", "索南", "东智", "草", "措", "吉", "加措", "旦增",
    "尼玛", "央金", "南杰", "桑杰", "更登", "华旦",
)  # fmt: skip
FIRMS = ("鑫源", "华宇", "金川", "天马", "祁连", "凉州", "西凉", "雪山", "绿洲", "丝路", "昌盛")
TRADES = ("建筑工程", "物业管理", "劳务", "商贸", "运输", "房地产开发", "农业开发", "餐饮管理")

# --- what disputes look like -------------------------------------------------------------

TYPES: list[tuple[DisputeType, float, str, str]] = [
    (DisputeType.MARRIAGE_FAMILY, 16.9, "婚姻家庭", "双方因赡养老人及家庭财产分割发生争执。"),
    (DisputeType.NEIGHBOUR, 23.1, "邻里", "因院墙、排水及通道问题多次发生口角。"),
    (DisputeType.LABOUR, 16.3, "劳资", "申请人在工地务工，工程结束后工资未结清。"),
    (DisputeType.LAND, 11.3, "土地", "双方对地界划分存在争议，影响春耕。"),
    (DisputeType.ROAD_TRAFFIC, 8.0, "道路交通事故", "两车相撞，双方对赔偿金额有分歧。"),
    (DisputeType.MEDICAL, 2.0, "医疗", "患者家属对诊疗结果不满，要求赔偿。"),
    (DisputeType.PROPERTY_MANAGEMENT, 6.0, "物业", "业主以服务质量差为由拒交物业费。"),
    (DisputeType.LAND_CONTRACT, 5.0, "土地承包", "承包期内流转费用支付发生争议。"),
    (DisputeType.ENVIRONMENT, 1.4, "环境污染", "养殖场气味及噪声影响周边住户。"),
    (DisputeType.OTHER, 10.0, "其他", "双方因借款归还问题发生纠纷。"),
]
CHANNELS = [
    (Channel.WALK_IN, 55), (Channel.HOTLINE, 12), (Channel.ONLINE, 15),
    (Channel.TRANSFERRED_FROM_ABOVE, 6), (Channel.REPORTED_FROM_BELOW, 8), (Channel.OTHER, 4),
]  # fmt: skip
LEVELS = [(OrgKind.CITY, 0.03), (OrgKind.COUNTY, 0.22), (OrgKind.TOWNSHIP, 0.40),
          (OrgKind.VILLAGE, 0.35)]  # fmt: skip


@dataclass
class Org:
    """One organisation row, with what the generator needs to place cases."""

    id: int
    code: str
    name: str
    kind: OrgKind
    parent: Org | None
    path: str
    abbreviation: str = ""
    room_speciality: DisputeType | None = None
    weight: float = 1.0
    children: list[Org] = field(default_factory=list)
    clerks: list[int] = field(default_factory=list)
    mediators: list[int] = field(default_factory=list)
    supervisors: list[int] = field(default_factory=list)

    def row(self) -> tuple[object, ...]:
        """The ``organisations`` row."""
        return (
            self.id, self.code, self.name, self.kind.value,
            self.parent.id if self.parent else None, self.path, self.abbreviation,
            self.room_speciality.value if self.room_speciality else None,
        )  # fmt: skip

    def kids(self, kind: OrgKind) -> list[Org]:
        """Children of one kind."""
        return [c for c in self.children if c.kind == kind]


@dataclass
class Tree:
    """The organisation tree and the accounts."""

    orgs: list[Org] = field(default_factory=list)
    staff: list[tuple[object, ...]] = field(default_factory=list)
    usernames: dict[str, int] = field(default_factory=dict)

    @property
    def city(self) -> Org:
        """The root."""
        return self.orgs[0]

    def by_code(self, code: str) -> Org:
        """An organisation by its code."""
        return next(o for o in self.orgs if o.code == code)


def build_tree(password_hash: str, rng: random.Random) -> Tree:
    """Organisations and staff of the benchmark city (about 600 organisations)."""
    tree = Tree()
    created = dt.datetime(2020, 12, 1)

    def org(code: str, name: str, kind: OrgKind, parent: Org | None, **kw: object) -> Org:
        node = Org(len(tree.orgs) + 1, code, name, kind, parent, "", **kw)  # type: ignore[arg-type]
        node.path = f"{parent.path if parent else '/'}{node.id}/"
        tree.orgs.append(node)
        if parent:
            parent.children.append(node)
        return node

    def person(node: Org, suffix: str, role: Role) -> int:
        staff_id = len(tree.staff) + 1
        username = f"{node.code}_{suffix}"
        display = person_name(rng, tibetan=node.code.startswith("620623"))
        tree.staff.append(
            (staff_id, username, display, role.value, node.id, password_hash, True, None, created)
        )
        tree.usernames[username] = staff_id
        if role == Role.INTAKE_CLERK:
            node.clerks.append(staff_id)
        elif role == Role.MEDIATOR:
            node.mediators.append(staff_id)
        elif role == Role.SUPERVISOR:
            node.supervisors.append(staff_id)
        return staff_id

    city = org("620600", "武威市综治中心", OrgKind.CITY, None, abbreviation="武")
    person(city, "admin", Role.ADMINISTRATOR)
    person(city, "super", Role.SUPERVISOR)
    person(city, "clerk1", Role.INTAKE_CLERK)
    person(city, "clerk2", Role.INTAKE_CLERK)
    for i, dept in enumerate(DEPARTMENTS, 1):
        person(org(f"620600-D{i:02d}", f"武威市{dept}", OrgKind.DEPARTMENT, city), "liaison",
               Role.DEPARTMENT_LIAISON)  # fmt: skip
    for code, name, abbreviation, share, townships in COUNTIES:
        county = org(code, f"{name}综治中心", OrgKind.COUNTY, city, abbreviation=abbreviation,
                     weight=share)  # fmt: skip
        person(county, "admin", Role.ADMINISTRATOR)
        person(county, "super", Role.SUPERVISOR)
        for n in range(1, 3):
            person(county, f"clerk{n}", Role.INTAKE_CLERK)
        for n in range(1, 4):
            person(county, f"mediator{n}", Role.MEDIATOR)
        rooms = [(n, None) for n in PERSONAL_ROOMS[code]] + [
            (name + room, speciality) for room, speciality in SPECIALISED_ROOMS
        ]
        for i, (room_name, speciality) in enumerate(rooms, 1):
            room = org(f"{code}-R{i:02d}", room_name, OrgKind.MEDIATION_ROOM, county,
                       room_speciality=speciality, weight=2.0 if i == 1 else 1.0)  # fmt: skip
            person(room, "m1", Role.MEDIATOR)
            person(room, "m2", Role.MEDIATOR)
        for i, dept in enumerate(DEPARTMENTS, 1):
            person(org(f"{code}-D{i:02d}", f"{name}{dept}", OrgKind.DEPARTMENT, county),
                   "liaison", Role.DEPARTMENT_LIAISON)  # fmt: skip
        court = org(f"{code}-C01", f"{name}人民法院", OrgKind.COURT, county)
        person(court, "judge", Role.JUDGE)
        person(court, "clerk", Role.COURT_CLERK)
        stems = list(VILLAGE_STEMS)
        for t, township_name in enumerate(townships, 1):
            # The first township is the seat of the county: the busiest.
            weight = 3.0 if t == 1 else rng.uniform(0.5, 2.0)
            township = org(f"{code}{t:03d}", f"{township_name}综治中心", OrgKind.TOWNSHIP, county,
                           weight=weight)  # fmt: skip
            person(township, "clerk", Role.INTAKE_CLERK)
            person(township, "mediator", Role.MEDIATOR)
            rng.shuffle(stems)
            for v in range(1, rng.randint(8, 12) + 1):
                village = org(f"{code}{t:03d}{v:03d}", f"{stems[v]}村综治中心", OrgKind.VILLAGE,
                              township, weight=rng.uniform(0.3, 2.0))  # fmt: skip
                person(village, "clerk", Role.INTAKE_CLERK)
    return tree


def person_name(rng: random.Random, *, tibetan: bool = False) -> str:
    """A plausible Chinese (or, in 天祝, Tibetan) personal name."""
    if tibetan and rng.random() < 0.3:
        return "".join(rng.sample(TIBETAN, 2))
    surname = rng.choices(_SURNAME_VALUES, cum_weights=_SURNAME_CUM)[0]
    # Earlier characters of the pool are more common (the first about 4% of names).
    first = GIVEN[int(len(GIVEN) * rng.random() ** 1.5)]
    if rng.random() < 0.3:
        return surname + first
    return surname + first + GIVEN[rng.randrange(len(GIVEN))]


_SURNAME_VALUES = [s for s, _ in SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(w for _, w in SURNAMES))


# --- cases -------------------------------------------------------------------------------


@dataclass
class Batch:
    """Rows of a run of consecutive cases, by table."""

    rows: dict[str, list[tuple[object, ...]]] = field(
        default_factory=lambda: {table: [] for table in COLUMNS}
    )


@dataclass
class _Ids:
    counters: dict[str, itertools.count[int]] = field(
        default_factory=lambda: {table: itertools.count(1) for table in COLUMNS}
    )

    def next(self, table: str) -> int:
        return next(self.counters[table])


def case_days(n: int, today: dt.date, rng: random.Random) -> list[int]:
    """Acceptance day (days since :data:`FIRST_DAY`) of each of ``n`` cases, ascending."""
    days = (today - FIRST_DAY).days + 1
    weights = []
    for d in range(days):
        growth = 1.0 + 1.5 * d / days  # more disputes reach the centres every year
        weekday = (FIRST_DAY + dt.timedelta(days=d)).weekday()
        weights.append(growth * (0.3 if weekday >= 5 else 1.0))
    return sorted(rng.choices(range(days), weights=weights, k=n))


class CaseGenerator:
    """Generates the cases of a tree in acceptance order, ``batch_size`` at a time."""

    def __init__(self, tree: Tree, today: dt.date, rng: random.Random) -> None:
        self.tree = tree
        self.today = today
        self.rng = rng
        self.ids = _Ids()
        self.seq: dict[tuple[int, int], int] = {}
        counties = tree.city.kids(OrgKind.COUNTY)
        self.counties = counties
        self.county_cum = list(itertools.accumulate(c.weight for c in counties))
        self.township_cum = {
            c.id: list(itertools.accumulate(t.weight for t in c.kids(OrgKind.TOWNSHIP)))
            for c in counties
        }
        self.village_cum = {
            t.id: list(itertools.accumulate(v.weight for v in t.kids(OrgKind.VILLAGE)))
            for c in counties
            for t in c.kids(OrgKind.TOWNSHIP)
        }
        self.type_cum = list(itertools.accumulate(w for _, w, _, _ in TYPES))
        self.channel_cum = list(itertools.accumulate(w for _, w in CHANNELS))
        self.level_cum = list(itertools.accumulate(w for _, w in LEVELS))

    # -- placement

    def _county_of(self, org: Org) -> Org:
        while org.kind != OrgKind.COUNTY:
            assert org.parent is not None
            org = org.parent
        return org

    def _place(self) -> Org:
        rng = self.rng
        level = rng.choices(LEVELS, cum_weights=self.level_cum)[0][0]
        if level == OrgKind.CITY:
            return self.tree.city
        county = rng.choices(self.counties, cum_weights=self.county_cum)[0]
        if level == OrgKind.COUNTY:
            return county
        townships = county.kids(OrgKind.TOWNSHIP)
        township = rng.choices(townships, cum_weights=self.township_cum[county.id])[0]
        if level == OrgKind.TOWNSHIP:
            return township
        villages = township.kids(OrgKind.VILLAGE)
        return rng.choices(villages, cum_weights=self.village_cum[township.id])[0]

    # -- one case

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        """All rows, in batches of ``batch_size`` cases."""
        days = case_days(n, self.today, self.rng)
        for start in range(0, n, batch_size):
            batch = Batch()
            for day in days[start : start + batch_size]:
                self._case(batch, FIRST_DAY + dt.timedelta(days=day))
            yield batch

    def counters(self) -> list[tuple[object, ...]]:
        """``case_number_counters`` rows for the numbers given."""
        return [(org_id, year, last) for (org_id, year), last in sorted(self.seq.items())]

    def _case(self, batch: Batch, accepted_on: dt.date) -> None:
        rng, today, rows = self.rng, self.today, batch.rows
        case_id = self.ids.next("cases")
        centre = self._place()
        county = self._county_of(centre) if centre.kind != OrgKind.CITY else None
        dispute_type, _, type_label, facts = rng.choices(TYPES, cum_weights=self.type_cum)[0]
        channel = rng.choices(CHANNELS, cum_weights=self.channel_cum)[0][0]
        lane = Lane.FAST if rng.random() < 0.4 else Lane.NORMAL
        # Second resolution, so busy days have cases accepted at the same instant.
        local = dt.datetime.combine(accepted_on, dt.time(8, 30)) + dt.timedelta(
            seconds=rng.randrange(9 * 3600)
        )
        accepted_at = local - LOCAL_OFFSET
        age = (today - accepted_on).days
        limit_days = 3 if lane == Lane.FAST else (15 if dispute_type == DisputeType.LABOUR else 30)
        deadline_on: dt.date | None = accepted_on + dt.timedelta(days=limit_days)

        status: CaseStatus
        closed_after: float | None = None
        if channel == Channel.ONLINE and age > 2 and rng.random() < 0.04:
            status = CaseStatus.DECLINED
            closed_after = rng.uniform(0.1, 2.0)
        elif channel == Channel.ONLINE and age <= 2 and rng.random() < 0.4:
            status = CaseStatus.SUBMITTED
        else:
            took = rng.expovariate(1 / (1.2 if lane == Lane.FAST else 14.0))
            stuck = rng.random() < 0.006  # the few that stay open long past their time limit
            if not stuck and took <= age:
                status, closed_after = CaseStatus.CLOSED, took
            elif age < 1:
                status = rng.choice((CaseStatus.ACCEPTED, CaseStatus.REGISTERED))
            else:
                status = rng.choices(
                    (CaseStatus.REGISTERED, CaseStatus.ROUTED, CaseStatus.MEDIATING),
                    weights=(2, 3, 5),
                )[0]
        registered = status not in (
            CaseStatus.SUBMITTED, CaseStatus.ACCEPTED, CaseStatus.DECLINED,
        )  # fmt: skip
        if status in (CaseStatus.SUBMITTED, CaseStatus.DECLINED):
            deadline_on = None
        first_receiver = rng.choice(centre.clerks) if status != CaseStatus.SUBMITTED else None
        handled = status in (CaseStatus.ROUTED, CaseStatus.MEDIATING, CaseStatus.CLOSED)

        number = registered_at = None
        if registered:
            numbering = county or self.tree.city
            key = (numbering.id, accepted_on.year)
            seq = self.seq[key] = self.seq.get(key, 0) + 1
            number = f"({accepted_on.year}){numbering.abbreviation}综调字第{seq:04d}号"
            registered_at = accepted_at + dt.timedelta(minutes=rng.randint(5, 90))

        room = mediator = department = court = None
        if handled and centre.kind == OrgKind.COUNTY and rng.random() < 0.5:
            rooms = centre.kids(OrgKind.MEDIATION_ROOM)
            fitting = [r for r in rooms if r.room_speciality == dispute_type]
            room = fitting[0] if fitting and rng.random() < 0.7 else rng.choice(rooms)
            mediator = rng.choice(room.mediators)
        elif handled and centre.kind == OrgKind.COUNTY and rng.random() < 0.5:
            mediator = rng.choice(centre.mediators)
        elif handled and centre.kind == OrgKind.TOWNSHIP and rng.random() < 0.7:
            mediator = centre.mediators[0]
        if handled and county is not None and rng.random() < 0.06:
            department = rng.choice(county.kids(OrgKind.DEPARTMENT))

        closed_at = closed_on = outcome = next_step = feedback_at = None
        outcome_note = feedback_note = ""
        if closed_after is not None:
            closed_at = accepted_at + dt.timedelta(days=closed_after)
            closed_on = (closed_at + LOCAL_OFFSET).date()
            if closed_on > today:
                closed_at, closed_on = accepted_at, accepted_on
            if status == CaseStatus.CLOSED:
                roll = rng.random()
                if roll < 0.97:
                    outcome, outcome_note = Outcome.MEDIATED, "双方达成调解协议，当场履行。"
                elif roll < 0.99:
                    outcome, outcome_note = Outcome.NOT_MEDIATED, "调解不成，告知诉讼途径。"
                    next_step = rng.choice(list(NextStep))
                else:
                    outcome, outcome_note = Outcome.WITHDRAWN, "申请人撤回调解申请。"
                if rng.random() < 0.9:
                    feedback_at = closed_at + dt.timedelta(hours=rng.randint(1, 48))
                    feedback_note = "已电话告知当事人调解结果。"
                if outcome == Outcome.MEDIATED and county is not None and rng.random() < 0.06:
                    court = county.kids(OrgKind.COURT)[0]
            else:
                outcome_note = "材料不全，请补充后重新提交。"

        applicant_name = person_name(rng, tibetan=bool(county and county.code == "620623"))
        company = dispute_type in (
            DisputeType.LABOUR, DisputeType.PROPERTY_MANAGEMENT, DisputeType.ROAD_TRAFFIC,
        ) and rng.random() < 0.35  # fmt: skip
        respondent_name = (
            f"武威市{rng.choice(FIRMS)}{rng.choice(TRADES)}有限公司"
            if company
            else person_name(rng, tibetan=bool(county and county.code == "620623"))
        )
        title = f"{applicant_name[:1]}某与{respondent_name[:1]}某{type_label}纠纷"
        rows["cases"].append((
            case_id, number, status.value, channel.value,
            dispute_type.value if registered else None, lane.value, title, facts,
            "请求依法调解。", centre.id, centre.path, room.id if room else None,
            department.id if department else None, court.id if court else None, mediator,
            first_receiver, accepted_on, accepted_at, registered_at, deadline_on, closed_at,
            closed_on, outcome.value if outcome else None,
            next_step.value if next_step else None, outcome_note, feedback_at, feedback_note,
        ))  # fmt: skip

        area = county.code if county else "620600"
        applicant = self.ids.next("parties")
        rows["parties"].append((
            applicant, case_id, PartyRole.APPLICANT.value, None, applicant_name,
            _id_number(rng, area), f"13{rng.randrange(10**9):09d}", f"{centre.name[:-4]}", None,
        ))  # fmt: skip
        rows["parties"].append((
            self.ids.next("parties"), case_id, PartyRole.RESPONDENT.value, None,
            respondent_name, "" if company else _id_number(rng, area),
            f"13{rng.randrange(10**9):09d}", "", None,
        ))  # fmt: skip
        if rng.random() < 0.12:
            rows["parties"].append((
                self.ids.next("parties"), case_id, PartyRole.AGENT.value, applicant,
                person_name(rng), "", f"13{rng.randrange(10**9):09d}", "", None,
            ))  # fmt: skip

        supervisor = (county or self.tree.city).supervisors[0]
        for target_org, target_mediator in ((room, mediator), (department, None), (court, None)):
            if target_org is None and target_mediator is None:
                continue
            rows["routings"].append((
                self.ids.next("routings"), case_id, registered_at or accepted_at,
                first_receiver or supervisor, centre.id,
                target_org.id if target_org else None, target_mediator, lane.value, "按类型分流",
            ))  # fmt: skip
        overdue = deadline_on is not None and closed_at is None and deadline_on < today
        if overdue and deadline_on is not None and rng.random() < 0.6:
            rows["supervisions"].append((
                self.ids.next("supervisions"), case_id,
                dt.datetime.combine(deadline_on, dt.time(2)), supervisor,
                "已超期，请尽快办结。", deadline_on + dt.timedelta(days=7),
            ))  # fmt: skip
        if (
            registered
            and county is not None
            and centre.kind == OrgKind.COUNTY
            and (rng.random() < 0.06)
        ):
            consultation = self.ids.next("consultations")
            convened = (registered_at or accepted_at) + dt.timedelta(days=1)
            rows["consultations"].append((
                consultation, case_id, convened, supervisor, "跨部门纠纷会商研判",
                (convened + LOCAL_OFFSET).date() + dt.timedelta(days=5),
            ))  # fmt: skip
            for dept in rng.sample(county.kids(OrgKind.DEPARTMENT), 2):
                answered = closed_at is not None or rng.random() < 0.5
                rows["summonses"].append((
                    self.ids.next("summonses"), consultation, dept.id,
                    convened + dt.timedelta(days=2) if answered else None,
                    None, "已到场参与会商" if answered else "",
                    "responded" if answered else "pending",
                ))  # fmt: skip
        if outcome == Outcome.MEDIATED and closed_at is not None and closed_on is not None:
            if rng.random() < 0.35:
                rated = closed_at + dt.timedelta(days=rng.randint(1, 10))
                if rated.date() <= today:
                    score = rng.choices((5, 4, 3, 2, 1), weights=(70, 20, 6, 2, 2))[0]
                    rows["ratings"].append(
                        (self.ids.next("ratings"), case_id, applicant, score, "", rated)
                    )
            if rng.random() < 0.3:
                due = closed_on + dt.timedelta(days=30)
                visited = due < today and rng.random() < 0.92
                assignee = mediator or first_receiver or supervisor
                rows["follow_ups"].append((
                    self.ids.next("follow_ups"), case_id, due, assignee, supervisor,
                    dt.datetime.combine(due, dt.time(3)) if visited else None,
                    rng.choices(list(FollowUpResult), weights=(85, 8, 3, 4))[0].value
                    if visited else None,
                    "协议履行情况良好" if visited else "",
                ))  # fmt: skip


def _id_number(rng: random.Random, area: str) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55))
    first17 = f"{area}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_number_check_digit(first17)
