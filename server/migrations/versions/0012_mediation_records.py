"""the mediation record (statements, versions, sign-off)

- ``mediation_records``: one per hearing; status editing / signed_off / confirmed, the
  autosave's version counter, who signed it off, the issued document.
- ``mediation_record_statements``: speaker-tagged statements stamped on the session clock.
- ``mediation_record_versions``: every save that changed something (append-only).
- ``mediation_record_confirmations``: the parties' confirmations, bound to the document hash.

Revision ID: 0012_mediation_records
Revises: 0011_recording_exports
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_mediation_records"
down_revision: str | None = "0011_recording_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mediation_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signed_off_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_off_by_participant_id", sa.Integer(), nullable=True),
        sa.Column("signed_off_by_name", sa.String(length=100), nullable=False),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_mediation_records_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearings.id"], name=op.f("fk_mediation_records_hearing_id_hearings")
        ),
        sa.ForeignKeyConstraint(
            ["signed_off_by_id"],
            ["staff.id"],
            name=op.f("fk_mediation_records_signed_off_by_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["signed_off_by_participant_id"],
            ["hearing_participants.id"],
            name="fk_mediation_records_signed_off_by_seat",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_mediation_records_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_records")),
        sa.UniqueConstraint("hearing_id", name=op.f("uq_mediation_records_hearing_id")),
    )
    with op.batch_alter_table("mediation_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediation_records_case_id"), ["case_id"])

    op.create_table(
        "mediation_record_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker_participant_id", sa.Integer(), nullable=True),
        sa.Column("speaker_name", sa.String(length=100), nullable=False),
        sa.Column("speaker_role", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("offset_ms", sa.BigInteger(), nullable=True),
        sa.Column("said_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["mediation_records.id"],
            name=op.f("fk_mediation_record_statements_record_id_mediation_records"),
        ),
        sa.ForeignKeyConstraint(
            ["speaker_participant_id"],
            ["hearing_participants.id"],
            name="fk_mediation_record_statements_speaker",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_record_statements")),
    )
    with op.batch_alter_table("mediation_record_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediation_record_statements_record_id"), ["record_id"])

    op.create_table(
        "mediation_record_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("statements", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.Column("saved_by_participant_id", sa.Integer(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["mediation_records.id"],
            name=op.f("fk_mediation_record_versions_record_id_mediation_records"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"],
            ["staff.id"],
            name=op.f("fk_mediation_record_versions_saved_by_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_participant_id"],
            ["hearing_participants.id"],
            name="fk_mediation_record_versions_saved_by_seat",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_record_versions")),
        sa.UniqueConstraint("record_id", "version", name="uq_mediation_record_versions_version"),
    )

    op.create_table(
        "mediation_record_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["mediation_records.id"],
            name=op.f("fk_mediation_record_confirmations_record_id_mediation_records"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["parties.id"],
            name=op.f("fk_mediation_record_confirmations_party_id_parties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_record_confirmations")),
        sa.UniqueConstraint(
            "record_id", "party_id", name="uq_mediation_record_confirmations_party"
        ),
    )


def downgrade() -> None:
    op.drop_table("mediation_record_confirmations")
    op.drop_table("mediation_record_versions")
    with op.batch_alter_table("mediation_record_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediation_record_statements_record_id"))
    op.drop_table("mediation_record_statements")
    with op.batch_alter_table("mediation_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediation_records_case_id"))
    op.drop_table("mediation_records")
