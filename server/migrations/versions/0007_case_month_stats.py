"""dashboard rollup: accepted cases summed per centre, month, dispute type and lane

- ``case_month_stats``: what the dashboard counts (accepted, mediated, closed, closed late,
  days to close, ratings) per handling centre (``scope_path``), month of ``accepted_on``,
  dispute type ('' for none yet) and lane, over cases not in submitted / declined.
- ``ix_case_month_stats_month``: the same rows by month, type and lane (trend, type counts).
- ``ix_cases_open_deadline``: open accepted cases by deadline (overdue-open stays live: it
  depends on the day it is counted on).
- Triggers keep it current: a write to a case takes its old row's contribution out and puts
  the new row's in (status, outcome, type, lane, centre and dates all change over a case's
  life); a rating adds to its case's row. Existing cases are summed here in one statement.

Written by hand; the SQL is frozen here on purpose (the models may change later).

Revision ID: 0007_case_month_stats
Revises: 0006_covering_stats_index
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_case_month_stats"
down_revision: str | None = "0006_covering_stats_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_ACCEPTED = "('submitted', 'declined')"
KEY = "scope_path, month, dispute_type, lane"
SUMS = ("accepted", "mediated", "closed", "closed_late", "days_to_close")
RATINGS = ("rating_sum", "rating_count")
OPEN_ACCEPTED = "status IN ('accepted', 'registered', 'routed', 'mediating')"
CASE_COLUMNS = (
    "status, outcome, dispute_type, lane, scope_path, accepted_on, closed_on, deadline_on"
)


def _month(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"substr({column}, 1, 8) || '01'"


def _days(dialect: str, r: str) -> str:
    if dialect == "postgresql":
        return f"{r}.closed_on - {r}.accepted_on"
    return f"CAST(julianday({r}.closed_on) - julianday({r}.accepted_on) AS INTEGER)"


def _apply_case(dialect: str, r: str, sign: str) -> str:
    """Add (sign 1) or take out (sign -1) the contribution of case row ``r`` (NEW / OLD)."""
    closed = f"{r}.status = 'closed'"
    values = [
        f"{r}.scope_path",
        _month(dialect, f"{r}.accepted_on"),
        f"coalesce({r}.dispute_type, '')",
        f"{r}.lane",
        sign,
        f"{sign} * (CASE WHEN {r}.outcome = 'mediated' THEN 1 ELSE 0 END)",
        f"{sign} * (CASE WHEN {closed} THEN 1 ELSE 0 END)",
        f"{sign} * (CASE WHEN {closed} AND {r}.closed_on > {r}.deadline_on THEN 1 ELSE 0 END)",
        f"{sign} * coalesce(CASE WHEN {closed} THEN {_days(dialect, r)} END, 0)",
        f"{sign} * (SELECT coalesce(sum(score), 0) FROM ratings WHERE case_id = {r}.id)",  # noqa: S608
        f"{sign} * (SELECT count(*) FROM ratings WHERE case_id = {r}.id)",  # noqa: S608
    ]
    updates = ", ".join(f"{c} = case_month_stats.{c} + excluded.{c}" for c in (*SUMS, *RATINGS))
    # WHERE before ON CONFLICT: SQLite's parser needs it after a SELECT.
    return (
        f"INSERT INTO case_month_stats ({KEY}, {', '.join((*SUMS, *RATINGS))}) "
        f"SELECT {', '.join(values)} WHERE {r}.status NOT IN {NOT_ACCEPTED} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET {updates}"
    )


def _apply_rating(dialect: str, r: str, sign: str) -> str:
    """Add or take out rating row ``r`` on its case's rollup row (if the case counts)."""
    return (
        f"UPDATE case_month_stats SET rating_sum = rating_sum + {sign} * {r}.score, "  # noqa: S608
        f"rating_count = rating_count + {sign} WHERE ({KEY}) = ("
        f"SELECT c.scope_path, {_month(dialect, 'c.accepted_on')}, "
        "coalesce(c.dispute_type, ''), c.lane FROM cases AS c "
        f"WHERE c.id = {r}.case_id AND c.status NOT IN {NOT_ACCEPTED})"
    )


def _rebuild(dialect: str) -> str:
    closed = "c.status = 'closed'"
    return (
        f"INSERT INTO case_month_stats ({KEY}, {', '.join((*SUMS, *RATINGS))}) "  # noqa: S608
        f"SELECT c.scope_path, {_month(dialect, 'c.accepted_on')}, "
        "coalesce(c.dispute_type, ''), c.lane, count(*), "
        "sum(CASE WHEN c.outcome = 'mediated' THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {closed} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {closed} AND c.closed_on > c.deadline_on THEN 1 ELSE 0 END), "
        f"coalesce(sum(CASE WHEN {closed} THEN {_days(dialect, 'c')} END), 0), "
        "coalesce(sum(r.total), 0), coalesce(sum(r.n), 0) "
        "FROM cases AS c LEFT JOIN (SELECT case_id, sum(score) AS total, count(*) AS n "
        "FROM ratings GROUP BY case_id) AS r ON r.case_id = c.id "
        f"WHERE c.status NOT IN {NOT_ACCEPTED} GROUP BY 1, 2, 3, 4"
    )


def _sqlite_triggers() -> dict[str, tuple[str, str]]:
    d = "sqlite"
    return {
        "case_month_stats_case_insert": (
            "AFTER INSERT ON cases",
            _apply_case(d, "NEW", "1") + ";",
        ),
        "case_month_stats_case_update": (
            f"AFTER UPDATE OF {CASE_COLUMNS} ON cases",
            _apply_case(d, "OLD", "-1") + "; " + _apply_case(d, "NEW", "1") + ";",
        ),
        "case_month_stats_case_delete": (
            "AFTER DELETE ON cases",
            _apply_case(d, "OLD", "-1") + ";",
        ),
        "case_month_stats_rating_insert": (
            "AFTER INSERT ON ratings",
            _apply_rating(d, "NEW", "1") + ";",
        ),
        "case_month_stats_rating_update": (
            "AFTER UPDATE OF score, case_id ON ratings",
            _apply_rating(d, "OLD", "-1") + "; " + _apply_rating(d, "NEW", "1") + ";",
        ),
        "case_month_stats_rating_delete": (
            "AFTER DELETE ON ratings",
            _apply_rating(d, "OLD", "-1") + ";",
        ),
    }


def _postgres_function(name: str, apply: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {apply.replace('@', 'OLD').replace('#', '-1')}; "
        "END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {apply.replace('@', 'NEW').replace('#', '1')}; "
        "END IF; RETURN NULL; END; $$ LANGUAGE plpgsql"
    )


POSTGRES_TRIGGERS = [
    "CREATE TRIGGER case_month_stats_case AFTER INSERT OR DELETE OR UPDATE OF "
    f"{CASE_COLUMNS} ON cases FOR EACH ROW EXECUTE FUNCTION bilin_case_month_stats_case()",
    "CREATE TRIGGER case_month_stats_rating AFTER INSERT OR DELETE OR UPDATE OF score, case_id "
    "ON ratings FOR EACH ROW EXECUTE FUNCTION bilin_case_month_stats_rating()",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "case_month_stats",
        sa.Column(
            "scope_path",
            sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("dispute_type", sa.String(length=32), nullable=False),
        sa.Column("lane", sa.String(length=8), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in (*SUMS, *RATINGS)),
        sa.PrimaryKeyConstraint(
            "scope_path", "month", "dispute_type", "lane", name=op.f("pk_case_month_stats")
        ),
        sqlite_with_rowid=False,
    )
    op.execute(_rebuild(dialect))
    op.create_index(
        "ix_case_month_stats_month",
        "case_month_stats",
        ["month", "dispute_type", "lane", "scope_path", "accepted", "mediated"],
    )
    op.create_index(
        "ix_cases_open_deadline",
        "cases",
        ["deadline_on", "scope_path", "accepted_on", "status"],
        sqlite_where=sa.text(OPEN_ACCEPTED),
        postgresql_where=sa.text(OPEN_ACCEPTED),
    )
    if dialect == "postgresql":
        op.execute(
            _postgres_function("bilin_case_month_stats_case", _apply_case(dialect, "@", "#"))
        )
        op.execute(
            _postgres_function("bilin_case_month_stats_rating", _apply_rating(dialect, "@", "#"))
        )
        for sql in POSTGRES_TRIGGERS:
            op.execute(sql)
    else:
        for name, (when, body) in _sqlite_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


def downgrade() -> None:
    op.drop_index("ix_cases_open_deadline", table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_month_stats_rating ON ratings")
        op.execute("DROP TRIGGER IF EXISTS case_month_stats_case ON cases")
        op.execute("DROP FUNCTION IF EXISTS bilin_case_month_stats_rating()")
        op.execute("DROP FUNCTION IF EXISTS bilin_case_month_stats_case()")
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("case_month_stats")
