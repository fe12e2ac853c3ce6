"""evidence packages (exports) of recording sessions

Revision ID: 0011_recording_exports
Revises: 0010_audit_log
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_recording_exports"
down_revision: str | None = "0010_audit_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("package_key", sa.String(length=255), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("manifest_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_exports_session_id_recording_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_recording_exports_job_id_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["staff.id"],
            name=op.f("fk_recording_exports_requested_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_exports")),
    )
    with op.batch_alter_table("recording_exports", schema=None) as batch_op:
        batch_op.create_index("ix_recording_exports_session", ["session_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recording_exports", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_exports_session")
    op.drop_table("recording_exports")
