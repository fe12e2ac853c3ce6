"""A small world for tests: two counties of Wuwei, a township, a village, a room, a department,
a court, and one account per role. Every account's password is ``PASSWORD``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.passwords import hash_password
from server.db import Organisation, Staff
from server.vocabulary import OrgKind, Role

PASSWORD = "correct horse battery"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Argon2 is deliberately slow; hash once for every account of every test.
    return hash_password(PASSWORD)


@dataclass
class World:
    """Organisations by code and staff by username."""

    orgs: dict[str, Organisation] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)


ORGS: list[tuple[str, str, OrgKind, str | None, str]] = [
    # code, name, kind, parent code, abbreviation
    ("620600", "武威市综治中心", OrgKind.CITY, None, "武"),
    ("620602", "凉州区综治中心", OrgKind.COUNTY, "620600", "凉"),
    ("620621", "民勤县综治中心", OrgKind.COUNTY, "620600", "民"),
    ("620602001", "东大街街道综治中心", OrgKind.TOWNSHIP, "620602", ""),
    ("620602001001", "东关村综治中心", OrgKind.VILLAGE, "620602001", ""),
    ("620621001", "三雷镇综治中心", OrgKind.TOWNSHIP, "620621", ""),
    ("620602-R01", "老王说理室", OrgKind.MEDIATION_ROOM, "620602", ""),
    ("620602-D01", "凉州区人社局", OrgKind.DEPARTMENT, "620602", ""),
    ("620602-D02", "凉州区住建局", OrgKind.DEPARTMENT, "620602", ""),
    ("620621-D01", "民勤县人社局", OrgKind.DEPARTMENT, "620621", ""),
    ("620602-C01", "凉州区人民法院", OrgKind.COURT, "620602", ""),
]

STAFF: list[tuple[str, Role, str]] = [
    ("admin", Role.ADMINISTRATOR, "620600"),
    ("city_super", Role.SUPERVISOR, "620600"),
    ("lz_clerk", Role.INTAKE_CLERK, "620602"),
    ("lz_super", Role.SUPERVISOR, "620602"),
    ("lz_mediator", Role.MEDIATOR, "620602"),
    ("laowang", Role.MEDIATOR, "620602-R01"),
    ("lz_liaison", Role.DEPARTMENT_LIAISON, "620602-D01"),
    ("lz_housing", Role.DEPARTMENT_LIAISON, "620602-D02"),
    ("lz_judge", Role.JUDGE, "620602-C01"),
    ("lz_court_clerk", Role.COURT_CLERK, "620602-C01"),
    ("mq_clerk", Role.INTAKE_CLERK, "620621"),
    ("mq_super", Role.SUPERVISOR, "620621"),
    ("mq_liaison", Role.DEPARTMENT_LIAISON, "620621-D01"),
    ("village_clerk", Role.INTAKE_CLERK, "620602001001"),
]


async def build_world(db: AsyncSession) -> World:
    """Insert the organisations and accounts; the caller commits."""
    world = World()
    for code, name, kind, parent_code, abbreviation in ORGS:
        parent = world.orgs[parent_code] if parent_code else None
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
        world.orgs[code] = org
    for username, role, org_code in STAFF:
        staff = Staff(
            username=username,
            display_name=username,
            role=role,
            org_id=world.orgs[org_code].id,
            password_hash=_password_hash(),
        )
        db.add(staff)
        world.staff[username] = staff
    await db.flush()
    return world


async def login(client: TestClient, username: str) -> str:  # type: ignore[type-arg]
    """Log ``username`` in through the API; returns the CSRF token for later calls."""
    response = await client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status == 200, await response.text()
    return str((await response.json())["csrf_token"])


def id_number(area: str = "620602", birth: str = "19900101", seq: str = "123") -> str:
    """A resident ID number with a correct check digit."""
    from server.validation import id_number_check_digit

    first17 = area + birth + seq
    return first17 + id_number_check_digit(first17)
