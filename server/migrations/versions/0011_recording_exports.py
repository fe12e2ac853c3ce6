"""evidence packages (exports) of recording sessions

Revision ID: 0011_recording_exports
Revises: 0010_audit_log
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

revision: str = "0011_recording_exports"
down_revision: str | None = "0010_audit_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
