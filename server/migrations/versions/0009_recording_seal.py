"""signing keys and signed manifests (filled in by the seal work)

Revision ID: 0009_recording_seal
Revises: 0008_recordings
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

revision: str = "0009_recording_seal"
down_revision: str | None = "0008_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
