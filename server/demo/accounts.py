"""The demo's staff accounts: one per role at sensible organisations, one shared password."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import create_staff
from server.db import Staff
from server.vocabulary import Role

# Printed with the accounts; the demo refuses to run in production (see ``load_demo``).
DEMO_PASSWORD = "bilin-demo-2022"  # noqa: S105


@dataclass(frozen=True)
class AccountSpec:
    """One demo account."""

    username: str
    role: Role
    org_code: str
    display_name: str


ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("ww_admin", Role.ADMINISTRATOR, "620600", "李志强"),
    AccountSpec("ww_supervisor", Role.SUPERVISOR, "620600", "赵明霞"),
    AccountSpec("ww_clerk", Role.INTAKE_CLERK, "620600", "孙丽娟"),
    AccountSpec("lz_supervisor", Role.SUPERVISOR, "620602", "王海军"),
    AccountSpec("lz_clerk", Role.INTAKE_CLERK, "620602", "陈晓燕"),
    AccountSpec("lz_mediator", Role.MEDIATOR, "620602", "刘文斌"),
    AccountSpec("laowang", Role.MEDIATOR, "620602-LWSL", "王兴国"),
    AccountSpec("luowenming", Role.MEDIATOR, "620602-LWM", "罗文明"),
    AccountSpec("lz_family_mediator", Role.MEDIATOR, "620602-HYTJ", "马秀兰"),
    AccountSpec("lz_hrss_liaison", Role.DEPARTMENT_LIAISON, "620602-RS", "张红梅"),
    AccountSpec("lz_housing_liaison", Role.DEPARTMENT_LIAISON, "620602-ZJ", "杨建华"),
    AccountSpec("lz_judge", Role.JUDGE, "620602-RMFY", "徐立新"),
    AccountSpec("lz_court_clerk", Role.COURT_CLERK, "620602-RMFY", "何雪"),
    AccountSpec("hy_clerk", Role.INTAKE_CLERK, "620602100000", "冯天宝"),
    AccountSpec("mq_clerk", Role.INTAKE_CLERK, "620621", "蔡文静"),
    AccountSpec("mq_mediator", Role.MEDIATOR, "620621", "魏国栋"),
    AccountSpec("gl_clerk", Role.INTAKE_CLERK, "620622", "朱彦龙"),
    AccountSpec("mayouxin", Role.MEDIATOR, "620622-MYX", "马有信"),
    AccountSpec("tz_clerk", Role.INTAKE_CLERK, "620623", "才让卓玛"),
    AccountSpec("tz_mediator", Role.MEDIATOR, "620623", "桑杰"),
)

ROLE_NAMES: dict[Role, str] = {
    Role.ADMINISTRATOR: "管理员",
    Role.SUPERVISOR: "督办员",
    Role.INTAKE_CLERK: "受理员",
    Role.MEDIATOR: "调解员",
    Role.DEPARTMENT_LIAISON: "部门联络员",
    Role.JUDGE: "法官",
    Role.COURT_CLERK: "书记员",
}


async def ensure_accounts(db: AsyncSession) -> tuple[dict[str, Staff], int]:
    """Create the demo accounts that do not exist yet (through :func:`create_staff`);
    returns every demo account by username and how many were created."""
    usernames = [spec.username for spec in ACCOUNTS]
    rows = await db.execute(select(Staff).where(Staff.username.in_(usernames)))
    staff = {s.username: s for s in rows.scalars()}
    created = 0
    for spec in ACCOUNTS:
        if spec.username in staff:
            continue
        staff[spec.username] = await create_staff(
            db, spec.username, spec.role, spec.org_code, DEMO_PASSWORD, spec.display_name
        )
        created += 1
    return staff, created


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def account_table(org_names: dict[str, str]) -> list[str]:
    """The accounts as aligned text lines: username, role, organisation, name, password."""
    header = ("username", "role", "organisation", "name", "password")
    rows = [header] + [
        (
            spec.username,
            f"{spec.role.value} {ROLE_NAMES[spec.role]}",
            org_names[spec.org_code],
            spec.display_name,
            DEMO_PASSWORD,
        )
        for spec in ACCOUNTS
    ]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
