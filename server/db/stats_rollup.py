"""Monthly dashboard rollup: the accepted cases of each handling centre, month, dispute type and
lane, summed, so that the dashboard of a city reads a few thousand rows instead of a million.

Kept by triggers written in migration ``0007_case_month_stats`` on every write to ``cases``
(old row taken out, new row added) and ``ratings``; :func:`rebuild_case_month_stats_sql` fills
it in bulk (after a load with triggers off). Overdue-open cases depend on the day they are
counted on, so they are not here (the dashboard counts them live).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, PathString
from server.db.case import Case

# The rollup's key cannot hold NULL: cases without a dispute type yet are stored under ''.
NO_TYPE = ""
NOT_ACCEPTED_SQL = "('submitted', 'declined')"
# Accepted and still open: what can be overdue. Queries repeat this text literally so that
# SQLite matches the partial index below.
OPEN_ACCEPTED_SQL = "status IN ('accepted', 'registered', 'routed', 'mediating')"


class CaseMonthStats(Base):
    """Sums over one centre's accepted cases of one month, dispute type and lane."""

    __tablename__ = "case_month_stats"

    scope_path: Mapped[str] = mapped_column(PathString, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dispute_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    lane: Mapped[str] = mapped_column(String(8), primary_key=True)
    accepted: Mapped[int]
    mediated: Mapped[int]
    closed: Mapped[int]
    closed_late: Mapped[int]
    days_to_close: Mapped[int]
    rating_sum: Mapped[int]
    rating_count: Mapped[int]

    __table_args__ = (
        # The trend and the type / lane counts group by month first: no sort of the rows.
        Index(
            "ix_case_month_stats_month",
            "month",
            "dispute_type",
            "lane",
            "scope_path",
            "accepted",
            "mediated",
        ),
        {"sqlite_with_rowid": False},
    )


# Overdue-open cases depend on the day they are counted on, so the dashboard counts them live:
# this index holds only the few open ones, by deadline, with every column the count reads
# (status too: SQLite reads a partial index alone only if it holds the columns of its WHERE).
Index(
    "ix_cases_open_deadline",
    Case.deadline_on,
    Case.scope_path,
    Case.accepted_on,
    Case.status,
    sqlite_where=text(OPEN_ACCEPTED_SQL),
    postgresql_where=text(OPEN_ACCEPTED_SQL),
)


def month_sql(dialect: str, column: str) -> str:
    """The first day of the month of a date column, as the dialect stores dates."""
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"substr({column}, 1, 8) || '01'"


def rebuild_case_month_stats_sql(dialect: str) -> str:
    """One statement that fills the (empty) table from every case and rating."""
    if dialect == "postgresql":
        days = "c.closed_on - c.accepted_on"
    else:
        days = "CAST(julianday(c.closed_on) - julianday(c.accepted_on) AS INTEGER)"
    closed = "c.status = 'closed'"
    return (
        "INSERT INTO case_month_stats (scope_path, month, dispute_type, lane, accepted, "  # noqa: S608
        "mediated, closed, closed_late, days_to_close, rating_sum, rating_count) "
        f"SELECT c.scope_path, {month_sql(dialect, 'c.accepted_on')}, "
        f"coalesce(c.dispute_type, '{NO_TYPE}'), c.lane, count(*), "
        "sum(CASE WHEN c.outcome = 'mediated' THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {closed} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {closed} AND c.closed_on > c.deadline_on THEN 1 ELSE 0 END), "
        f"coalesce(sum(CASE WHEN {closed} THEN {days} END), 0), "
        "coalesce(sum(r.total), 0), coalesce(sum(r.n), 0) "
        "FROM cases AS c LEFT JOIN (SELECT case_id, sum(score) AS total, count(*) AS n "
        "FROM ratings GROUP BY case_id) AS r ON r.case_id = c.id "
        f"WHERE c.status NOT IN {NOT_ACCEPTED_SQL} GROUP BY 1, 2, 3, 4"
    )
