"""Search terms of cases: what the case list's search box looks up, kept by the database.

Each case has one row per distinct term, with its ``accepted_at`` copied, so a search walks one
term's rows already in list order (newest first) and stops after a page, whether the term
matches three cases or three hundred thousand:

- kind ``n``: every prefix of up to :data:`NAME_PREFIX_MAX` characters of each party's name,
  lower-cased (``张``, ``张伟``, ``张伟东``), so a surname or a whole name is one lookup;
- kind ``d``: the sequence number of the case number without its leading zeros
  (``(2026)凉综调字第0012号`` → ``12``).

Triggers written in migration ``0003_case_search`` keep the rows current on every write to
``parties.name`` and ``cases.number`` / ``cases.accepted_at`` (whatever code path makes it);
:func:`rebuild_search_terms_sql` fills the table in bulk (after a load with triggers off).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime

NAME_PREFIX_MAX = 4
NAME = "n"
DIGITS = "d"


class CaseSearchTerm(Base):
    """One search term of one case (see the module docstring)."""

    __tablename__ = "case_search_terms"

    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    accepted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (
        Index("ix_case_search_terms_case_id", "case_id"),
        {"sqlite_with_rowid": False},
    )


def name_terms(name: str) -> set[str]:
    """The name terms a party's name gives (what the triggers store, for ASCII case rules)."""
    lowered = name.lower()
    return {lowered[:n] for n in range(1, min(len(lowered), NAME_PREFIX_MAX) + 1)}


def _terms_select(dialect: str, case_filter: str) -> str:
    """SELECT of every term of the cases matching ``case_filter`` (SQL on alias ``c``)."""
    prefixes = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(1, NAME_PREFIX_MAX + 1))
    if dialect == "postgresql":
        digits = "ltrim(substring(c.number from '第([0-9]+)号'), '0')"
        numbered = "c.number ~ '第0*[1-9][0-9]*号'"
    else:
        first, last = "instr(c.number, '第')", "instr(c.number, '号')"
        digits = f"ltrim(substr(c.number, {first} + 1, {last} - {first} - 1), '0')"
        numbered = f"{first} > 0 AND {last} > {first} + 1"
    return (
        f"SELECT '{NAME}', substr(lower(p.name), 1, k.n), c.accepted_at, c.id "  # noqa: S608
        f"FROM parties AS p JOIN cases AS c ON c.id = p.case_id "
        f"JOIN ({prefixes}) AS k ON k.n <= length(p.name) WHERE {case_filter} "
        f"UNION SELECT '{DIGITS}', {digits}, c.accepted_at, c.id FROM cases AS c "
        f"WHERE {case_filter} AND {numbered}"
    )


def rebuild_search_terms_sql(dialect: str) -> str:
    """One statement that fills the (empty) table from every case and party."""
    return "INSERT INTO case_search_terms (kind, term, accepted_at, case_id) " + _terms_select(
        dialect, "1 = 1"
    )
