"""dashboard index covers deadline and closing date

The city dashboard at a million cases spent most of its time reading table rows for
``deadline_on`` and ``closed_on`` (overdue and days-to-close figures); with both in the index
the figures come from the index alone.

Revision ID: 0006_covering_stats_index
Revises: 0005_throttle
Create Date: 2026-11-28 03:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_covering_stats_index"
down_revision: str | None = "0005_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NARROW = ["scope_path", "accepted_on", "dispute_type", "lane", "outcome", "status"]


def upgrade() -> None:
    op.drop_index("ix_cases_stats", table_name="cases")
    op.create_index("ix_cases_stats", "cases", [*NARROW, "deadline_on", "closed_on"])


def downgrade() -> None:
    op.drop_index("ix_cases_stats", table_name="cases")
    op.create_index("ix_cases_stats", "cases", NARROW)
