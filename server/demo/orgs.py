"""The Wuwei City organisation tree: centres at four levels, departments, rooms and courts.

Township codes are the national statistical division codes (统计用区划代码) of Wuwei's
townships and sub-districts; villages follow the same 12-digit pattern (communities under a
sub-district number from 001, villages under a town from 201).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Organisation
from server.vocabulary import DisputeType, OrgKind

CITY = "620600"

ROOM_SPECIALITIES: tuple[DisputeType, ...] = (
    DisputeType.MARRIAGE_FAMILY,
    DisputeType.ROAD_TRAFFIC,
    DisputeType.LABOUR,
    DisputeType.MEDICAL,
    DisputeType.PROPERTY_MANAGEMENT,
    DisputeType.LAND_CONTRACT,
    DisputeType.ENVIRONMENT,
)


@dataclass(frozen=True)
class County:
    """A county-level division and what the demo places under it."""

    code: str
    name: str  # 凉州区
    short: str  # used in room names: 天祝藏族自治县 → 天祝县
    abbreviation: str
    old_id_area: str  # the division code on ID cards issued before 2001 (武威地区 6223xx)
    townships: tuple[tuple[str, str], ...]  # (12-digit code, name)
    rooms: tuple[DisputeType, ...]  # specialised mediation rooms at the county centre


COUNTIES: tuple[County, ...] = (
    County(
        "620602",
        "凉州区",
        "凉州区",
        "凉",
        "622301",
        (
            ("620602001000", "东大街街道"),
            ("620602002000", "西大街街道"),
            ("620602003000", "东关街街道"),
            ("620602100000", "黄羊镇"),
            ("620602101000", "武南镇"),
            ("620602102000", "清源镇"),
            ("620602103000", "永昌镇"),
            ("620602106000", "高坝镇"),
            ("620602108000", "和平镇"),
            ("620602116000", "四坝镇"),
        ),
        ROOM_SPECIALITIES,
    ),
    County(
        "620621",
        "民勤县",
        "民勤县",
        "民",
        "622322",
        (
            ("620621100000", "三雷镇"),
            ("620621101000", "东坝镇"),
            ("620621102000", "泉山镇"),
            ("620621103000", "西渠镇"),
            ("620621104000", "东湖镇"),
            ("620621110000", "苏武镇"),
            ("620621116000", "收成镇"),
        ),
        (
            DisputeType.MARRIAGE_FAMILY,
            DisputeType.ROAD_TRAFFIC,
            DisputeType.LABOUR,
            DisputeType.LAND_CONTRACT,
            DisputeType.ENVIRONMENT,
        ),
    ),
    County(
        "620622",
        "古浪县",
        "古浪县",
        "古",
        "622323",
        (
            ("620622100000", "古浪镇"),
            ("620622102000", "土门镇"),
            ("620622103000", "大靖镇"),
            ("620622106000", "定宁镇"),
            ("620622107000", "黄羊川镇"),
            ("620622110000", "黄花滩镇"),
        ),
        (
            DisputeType.MARRIAGE_FAMILY,
            DisputeType.ROAD_TRAFFIC,
            DisputeType.LABOUR,
            DisputeType.LAND_CONTRACT,
        ),
    ),
    County(
        "620623",
        "天祝藏族自治县",
        "天祝县",
        "天",
        "622326",
        (
            ("620623100000", "华藏寺镇"),
            ("620623101000", "打柴沟镇"),
            ("620623102000", "安远镇"),
            ("620623104000", "哈溪镇"),
            ("620623107000", "松山镇"),
            ("620623108000", "天堂镇"),
        ),
        (
            DisputeType.MARRIAGE_FAMILY,
            DisputeType.ROAD_TRAFFIC,
            DisputeType.LABOUR,
            DisputeType.LAND_CONTRACT,
            DisputeType.ENVIRONMENT,
        ),
    ),
)

# (12-digit code, name): a few village-level centres.
VILLAGES: tuple[tuple[str, str], ...] = (
    ("620602001001", "大什字社区"),
    ("620602001002", "北关社区"),
    ("620602100201", "新地村"),
    ("620602100202", "七里村"),
    ("620602102201", "发展村"),
    ("620621104201", "红英村"),
    ("620622110201", "富民新村"),
    ("620623100201", "岔口驿村"),
)

# Departments stationed at the city and county centres (派员入驻): code suffix, name pattern.
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("GA", "{area}公安局"),
    ("JC", "{area}人民检察院"),
    ("FY", "{area}人民法院诉调对接中心"),
    ("SF", "{area}司法局"),
    ("XF", "{area}信访局"),
    ("ZJ", "{area}住建局"),
    ("RS", "{area}人社局"),
    ("MZ", "{area}民政局"),
)

# Where the usual pattern is not the body's real name.
DEPARTMENT_NAMES: dict[str, str] = {
    "620600-FY": "武威市中级人民法院诉调对接中心",
    "620602-GA": "武威市公安局凉州分局",
}

# Specialised mediation rooms (专业化调解工作室): code suffix and name per speciality.
ROOM_NAMES: dict[DisputeType, tuple[str, str]] = {
    DisputeType.MARRIAGE_FAMILY: ("HYTJ", "婚姻家庭纠纷调解工作室"),
    DisputeType.ROAD_TRAFFIC: ("JTTJ", "道路交通事故纠纷调解工作室"),
    DisputeType.LABOUR: ("LDTJ", "劳动争议调解工作室"),
    DisputeType.MEDICAL: ("YLTJ", "医疗纠纷调解工作室"),
    DisputeType.PROPERTY_MANAGEMENT: ("WYTJ", "物业纠纷调解工作室"),
    DisputeType.LAND_CONTRACT: ("TDTJ", "土地承包纠纷调解工作室"),
    DisputeType.ENVIRONMENT: ("HJTJ", "生态环境纠纷调解工作室"),
}

# Personal mediation rooms named in the source (个人调解室): code, name, county.
PERSONAL_ROOMS: tuple[tuple[str, str, str], ...] = (
    ("620602-LWSL", "老王说理室", "620602"),
    ("620602-LWM", "罗文明调解室", "620602"),
    ("620622-MYX", "马有信调解室", "620622"),
)

CITY_COURT = ("620600-ZJFY", "武威市中级人民法院")


def court_code(county_code: str) -> str:
    """The code of a county's basic-level court."""
    return f"{county_code}-RMFY"


def department_code(area_code: str, suffix: str) -> str:
    """The code of a department stationed at a city or county centre, e.g. ``620602-RS``."""
    return f"{area_code}-{suffix}"


def room_code(county_code: str, speciality: DisputeType) -> str:
    """The code of a county's specialised room for ``speciality``."""
    return f"{county_code}-{ROOM_NAMES[speciality][0]}"


@dataclass(frozen=True)
class OrgSpec:
    """One organisation to create: code, name, kind, parent code, abbreviation, speciality."""

    code: str
    name: str
    kind: OrgKind
    parent: str | None
    abbreviation: str = ""
    room_speciality: str | None = None


def _departments(area_code: str, area_name: str) -> list[OrgSpec]:
    return [
        OrgSpec(
            department_code(area_code, suffix),
            DEPARTMENT_NAMES.get(
                department_code(area_code, suffix), pattern.format(area=area_name)
            ),
            OrgKind.DEPARTMENT,
            area_code,
        )
        for suffix, pattern in DEPARTMENTS
    ]


def org_specs() -> list[OrgSpec]:
    """Every demo organisation, parents before children."""
    specs = [OrgSpec(CITY, "武威市综治中心", OrgKind.CITY, None, "武")]
    specs.extend(
        OrgSpec(c.code, f"{c.name}综治中心", OrgKind.COUNTY, CITY, c.abbreviation) for c in COUNTIES
    )
    specs.extend(_departments(CITY, "武威市"))
    specs.append(OrgSpec(CITY_COURT[0], CITY_COURT[1], OrgKind.COURT, CITY))
    for county in COUNTIES:
        specs.extend(_departments(county.code, county.name))
        specs.append(
            OrgSpec(court_code(county.code), f"{county.name}人民法院", OrgKind.COURT, county.code)
        )
        specs.extend(
            OrgSpec(
                room_code(county.code, speciality),
                f"{county.short}{ROOM_NAMES[speciality][1]}",
                OrgKind.MEDIATION_ROOM,
                county.code,
                room_speciality=speciality.value,
            )
            for speciality in county.rooms
        )
        specs.extend(
            OrgSpec(code, name, OrgKind.MEDIATION_ROOM, county.code)
            for code, name, parent in PERSONAL_ROOMS
            if parent == county.code
        )
        for code, name in county.townships:
            specs.append(OrgSpec(code, f"{name}综治中心", OrgKind.TOWNSHIP, county.code))
            specs.extend(
                OrgSpec(v_code, f"{v_name}综治中心", OrgKind.VILLAGE, code)
                for v_code, v_name in VILLAGES
                if township_of(v_code) == code
            )
    return specs


def township_of(village_code: str) -> str:
    """The 12-digit code of the township a village code belongs to."""
    return village_code[:9] + "000"


async def ensure_orgs(db: AsyncSession) -> tuple[dict[str, Organisation], int]:
    """Create the organisations that do not exist yet; returns all of them by code and how
    many were created. Existing organisations are left as they are."""
    specs = org_specs()
    rows = await db.execute(
        select(Organisation).where(Organisation.code.in_([s.code for s in specs]))
    )
    orgs = {org.code: org for org in rows.scalars()}
    created = 0
    for spec in specs:
        if spec.code in orgs:
            continue
        parent = orgs[spec.parent] if spec.parent else None
        org = Organisation(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            parent_id=parent.id if parent else None,
            path="",
            abbreviation=spec.abbreviation,
            room_speciality=spec.room_speciality,
        )
        db.add(org)
        await db.flush()
        # The materialised path needs the new id, so it is set after the insert.
        org.path = f"{parent.path if parent else '/'}{org.id}/"
        orgs[spec.code] = org
        created += 1
    await db.flush()
    return orgs, created
