"""live hearings: chat messages kept on the case

``hearing_chat_messages``: each message said in a live hearing's main room or a caucus room,
with who said it and when (append-only).

Revision ID: 0004_hearing_chat
Revises: 0003_case_search
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_hearing_chat"
down_revision: str | None = "0003_case_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hearing_chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hearing_id"],
            ["hearings.id"],
            name=op.f("fk_hearing_chat_messages_hearing_id_hearings"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["hearing_participants.id"],
            name="fk_hearing_chat_messages_participant",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_chat_messages")),
    )
    with op.batch_alter_table("hearing_chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hearing_chat_messages_room", ["hearing_id", "location", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("hearing_chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_hearing_chat_messages_room")
    op.drop_table("hearing_chat_messages")
