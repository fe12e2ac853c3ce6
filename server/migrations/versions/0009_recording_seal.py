"""signing keys and signed manifests

- ``signing_keys``: one Ed25519 key per signing organisation (centres, courts); the private
  key encrypted with AES-GCM under a key derived from the server's secret key.
- ``recording_manifests``: signed manifest versions of recording sessions, with their RFC 3161
  time-stamp tokens.

Revision ID: 0009_recording_seal
Revises: 0008_recordings
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_recording_seal"
down_revision: str | None = "0008_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_signing_keys_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_signing_keys_fingerprint")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_signing_keys_organisation_id")),
    )
    op.create_table(
        "recording_manifests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("timestamp_token", sa.Text(), nullable=True),
        sa.Column("timestamp_status", sa.String(length=16), nullable=False),
        sa.Column("timestamped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_manifests_session_id_recording_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_manifests")),
        sa.UniqueConstraint("session_id", "version", name="uq_recording_manifests_session_version"),
    )
    with op.batch_alter_table("recording_manifests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recording_manifests_timestamp_status", ["timestamp_status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recording_manifests", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_manifests_timestamp_status")
    op.drop_table("recording_manifests")
    op.drop_table("signing_keys")
