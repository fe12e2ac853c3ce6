"""the hash-chained audit log of who saw what

Revision ID: 0010_audit_log
Revises: 0009_recording_seal
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

revision: str = "0010_audit_log"
down_revision: str | None = "0009_recording_seal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
