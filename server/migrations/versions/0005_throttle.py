"""rate limits for anonymous actions: throttle_hits

Revision ID: 0005_throttle
Revises: 0004_hearing_chat
Create Date: 2026-11-28 02:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_throttle"
down_revision: str | None = "0004_hearing_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_hits")),
    )
    op.create_index("ix_throttle_hits_bucket_key_at", "throttle_hits", ["bucket", "key_hash", "at"])


def downgrade() -> None:
    op.drop_index("ix_throttle_hits_bucket_key_at", table_name="throttle_hits")
    op.drop_table("throttle_hits")
