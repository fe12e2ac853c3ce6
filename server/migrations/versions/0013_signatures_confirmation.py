"""signatures, joint applications, judicial confirmation, rulings

Revision ID: 0013_signatures_confirmation
Revises: 0012_mediation_records
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

revision: str = "0013_signatures_confirmation"
down_revision: str | None = "0012_mediation_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
