"""transcription runs

Revision ID: 0014_transcription
Revises: 0013_signatures_confirmation
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

revision: str = "0014_transcription"
down_revision: str | None = "0013_signatures_confirmation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
