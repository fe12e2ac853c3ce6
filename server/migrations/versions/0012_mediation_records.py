"""the mediation record (statements, versions, sign-off)

Revision ID: 0012_mediation_records
Revises: 0011_recording_exports
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

revision: str = "0012_mediation_records"
down_revision: str | None = "0011_recording_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
