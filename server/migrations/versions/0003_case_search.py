"""case list at a million cases: search terms, list-order indexes

- ``case_search_terms``: per case, each prefix (up to 4 characters, lower-cased) of each party's
  name and the digits of its case number, with ``accepted_at`` copied so that a search walks one
  term already in list order. Triggers keep it current; existing cases are filled here.
- ``ix_cases_accepted`` (accepted_at, id): the newest-first walk of broad scopes (a city, a
  county), which the scope-first index could only give by sorting the whole scope.
- ``ix_cases_open``: the same order over open cases only (partial), with the columns the
  overdue filter tests, so "open" and "overdue" lists skip the closed majority.

Written by hand; the SQL is frozen here on purpose (the models may change later).

Revision ID: 0003_case_search
Revises: 0002_hearings
Create Date: 2026-11-28 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_case_search"
down_revision: str | None = "0002_hearings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('submitted', 'accepted', 'registered', 'routed', 'mediating')"
PREFIX_MAX = 4


def _terms_select(dialect: str, case_filter: str) -> str:
    prefixes = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(1, PREFIX_MAX + 1))
    if dialect == "postgresql":
        digits = "ltrim(substring(c.number from '第([0-9]+)号'), '0')"
        numbered = "c.number ~ '第0*[1-9][0-9]*号'"
    else:
        first, last = "instr(c.number, '第')", "instr(c.number, '号')"
        digits = f"ltrim(substr(c.number, {first} + 1, {last} - {first} - 1), '0')"
        numbered = f"{first} > 0 AND {last} > {first} + 1"
    return (
        "SELECT 'n', substr(lower(p.name), 1, k.n), c.accepted_at, c.id "  # noqa: S608
        "FROM parties AS p JOIN cases AS c ON c.id = p.case_id "
        f"JOIN ({prefixes}) AS k ON k.n <= length(p.name) WHERE {case_filter} "
        f"UNION SELECT 'd', {digits}, c.accepted_at, c.id FROM cases AS c "
        f"WHERE {case_filter} AND {numbered}"
    )


INSERT = "INSERT INTO case_search_terms (kind, term, accepted_at, case_id) "


def _sqlite_refresh(case_id: str) -> str:
    return (
        f"DELETE FROM case_search_terms WHERE case_id = {case_id}; "  # noqa: S608
        + INSERT
        + _terms_select("sqlite", f"c.id = {case_id}")
        + ";"
    )


SQLITE_TRIGGERS = {
    "case_search_terms_party_insert": (
        "AFTER INSERT ON parties",
        _sqlite_refresh("NEW.case_id"),
    ),
    "case_search_terms_party_update": (
        "AFTER UPDATE OF name, case_id ON parties",
        _sqlite_refresh("OLD.case_id") + " " + _sqlite_refresh("NEW.case_id"),
    ),
    "case_search_terms_party_delete": (
        "AFTER DELETE ON parties",
        _sqlite_refresh("OLD.case_id"),
    ),
    "case_search_terms_case_insert": (
        "AFTER INSERT ON cases WHEN NEW.number IS NOT NULL",
        _sqlite_refresh("NEW.id"),
    ),
    "case_search_terms_case_update": (
        "AFTER UPDATE OF number, accepted_at ON cases",
        _sqlite_refresh("NEW.id"),
    ),
}

POSTGRES_FUNCTIONS = [
    "CREATE FUNCTION bilin_case_search_terms_refresh(target integer) RETURNS void AS $$ "  # noqa: S608
    "BEGIN DELETE FROM case_search_terms WHERE case_id = target; "
    + INSERT
    + _terms_select("postgresql", "c.id = target")
    + "; END; $$ LANGUAGE plpgsql",
    "CREATE FUNCTION bilin_case_search_terms_party() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
    "PERFORM bilin_case_search_terms_refresh(OLD.case_id); END IF; "
    "IF TG_OP IN ('INSERT', 'UPDATE') THEN "
    "PERFORM bilin_case_search_terms_refresh(NEW.case_id); END IF; "
    "RETURN NULL; END; $$ LANGUAGE plpgsql",
    "CREATE FUNCTION bilin_case_search_terms_case() RETURNS trigger AS $$ BEGIN "
    "PERFORM bilin_case_search_terms_refresh(NEW.id); RETURN NULL; END; $$ LANGUAGE plpgsql",
]
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER case_search_terms_party AFTER INSERT OR DELETE OR UPDATE OF name, case_id "
    "ON parties FOR EACH ROW EXECUTE FUNCTION bilin_case_search_terms_party()",
    "CREATE TRIGGER case_search_terms_case AFTER INSERT OR UPDATE OF number, accepted_at "
    "ON cases FOR EACH ROW EXECUTE FUNCTION bilin_case_search_terms_case()",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "case_search_terms",
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_search_terms_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "kind", "term", "accepted_at", "case_id", name=op.f("pk_case_search_terms")
        ),
        sqlite_with_rowid=False,
    )
    # Filled before its second index exists: one sorted insert instead of row-by-row upkeep.
    op.execute(INSERT + _terms_select(dialect, "1 = 1"))
    op.create_index("ix_case_search_terms_case_id", "case_search_terms", ["case_id"])
    if dialect == "postgresql":
        for sql in POSTGRES_FUNCTIONS + POSTGRES_TRIGGERS:
            op.execute(sql)
    else:
        for name, (when, body) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")

    op.create_index("ix_cases_accepted", "cases", ["accepted_at", "id"])
    op.create_index(
        "ix_cases_open",
        "cases",
        ["accepted_at", "id", "scope_path", "deadline_on"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open", table_name="cases")
    op.drop_index("ix_cases_accepted", table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_search_terms_case ON cases")
        op.execute("DROP TRIGGER IF EXISTS case_search_terms_party ON parties")
        op.execute("DROP FUNCTION IF EXISTS bilin_case_search_terms_case()")
        op.execute("DROP FUNCTION IF EXISTS bilin_case_search_terms_party()")
        op.execute("DROP FUNCTION IF EXISTS bilin_case_search_terms_refresh(integer)")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_case_search_terms_case_id", table_name="case_search_terms")
    op.drop_table("case_search_terms")
