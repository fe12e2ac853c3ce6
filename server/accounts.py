"""Creating staff accounts (``bilin user add`` and the demo data)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from server.db import Organisation, Staff
from server.db.engine import create_engine, create_sessionmaker
from server.settings import Settings
from server.vocabulary import CENTRE_KINDS, OrgKind, Role

# Which kinds of organisation each role belongs to.
ROLE_ORG_KINDS: dict[Role, tuple[OrgKind, ...]] = {
    Role.ADMINISTRATOR: CENTRE_KINDS,
    Role.INTAKE_CLERK: CENTRE_KINDS,
    Role.SUPERVISOR: CENTRE_KINDS,
    Role.MEDIATOR: (*CENTRE_KINDS, OrgKind.MEDIATION_ROOM),
    Role.DEPARTMENT_LIAISON: (OrgKind.DEPARTMENT,),
    Role.JUDGE: (OrgKind.COURT,),
    Role.COURT_CLERK: (OrgKind.COURT,),
}


class UserAddError(ValueError):
    """The account cannot be created as asked; the message says why."""


async def create_staff(
    db: AsyncSession,
    username: str,
    role: Role,
    org_code: str,
    password: str,
    display_name: str | None = None,
) -> Staff:
    """Create an account after checking username, organisation and password. Caller commits."""
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise UserAddError("username must be 1-64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserAddError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    org = (
        await db.execute(select(Organisation).where(Organisation.code == org_code))
    ).scalar_one_or_none()
    if org is None:
        raise UserAddError(f"no organisation with code {org_code!r}")
    if org.kind not in ROLE_ORG_KINDS[role]:
        allowed = ", ".join(k.value for k in ROLE_ORG_KINDS[role])
        raise UserAddError(f"a {role.value} belongs to a {allowed}, not a {org.kind}")
    taken = (await db.execute(select(Staff.id).where(Staff.username == username))).first()
    if taken is not None:
        raise UserAddError(f"username {username!r} is taken")
    staff = Staff(
        username=username,
        display_name=display_name or username,
        role=role,
        org_id=org.id,
        password_hash=hash_password(password),
    )
    db.add(staff)
    await db.flush()
    return staff


async def add_user(
    settings: Settings,
    username: str,
    role: Role,
    org_code: str,
    password: str,
    display_name: str | None = None,
) -> int:
    """Create an account in the database of ``settings``; returns its id."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            try:
                staff = await create_staff(db, username, role, org_code, password, display_name)
                await db.commit()
            except IntegrityError:
                # Someone created the same username between the check and the commit.
                raise UserAddError(f"username {username!r} is taken") from None
            return staff.id
    finally:
        await engine.dispose()
