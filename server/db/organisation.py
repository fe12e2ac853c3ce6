"""The organisation tree: centres at four levels, departments, mediation rooms, courts."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString, PathString
from server.vocabulary import OrgKind


class Organisation(Base):
    """One node of the tree.

    ``path`` is the materialised path of ids (``/1/4/17/``), so "everything below" is a prefix
    range on an indexed column rather than a recursive query.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(EnumString(OrgKind, 32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    path: Mapped[str] = mapped_column(PathString)
    # One character used in case numbers, e.g. 凉 in (2026)凉综调字第0001号.
    abbreviation: Mapped[str] = mapped_column(String(8), default="")
    # Specialised rooms name their dispute type; personal rooms (老王说理室) leave it empty.
    room_speciality: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_organisations_path", "path"),)

    @property
    def is_centre(self) -> bool:
        """Whether this is a governance centre (city, county, township or village)."""
        return self.kind in (OrgKind.CITY, OrgKind.COUNTY, OrgKind.TOWNSHIP, OrgKind.VILLAGE)
