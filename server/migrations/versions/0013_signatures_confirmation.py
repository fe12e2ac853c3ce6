"""signatures, joint applications, judicial confirmation, rulings

- ``document_signatures``: a signer bound to one document version by its SHA-256, with the
  centre key's signature over the canonical binding.
- ``document_seals``: an organisation's seal (the centre over a signed agreement, the court over
  its ruling).
- ``confirmation_applications``, ``confirmation_consents``: the joint application for judicial
  confirmation and each party's confirmation of it.

Revision ID: 0013_signatures_confirmation
Revises: 0012_mediation_records
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_signatures_confirmation"
down_revision: str | None = "0012_mediation_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    t = "document_signatures"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("signer_kind", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("signer_name", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("image_png", sa.LargeBinary(), nullable=True),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("binding", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("server_signature", sa.String(length=128), nullable=False),
        _fk(t, "document_id", "documents"),
        _fk(t, "case_id", "cases"),
        _fk(t, "party_id", "parties"),
        _fk(t, "staff_id", "staff"),
        _fk(t, "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("document_id", "party_id", name="uq_document_signatures_party"),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{t}_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{t}_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_document_signatures_case", ["case_id", "document_id"])

    t = "document_seals"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("binding", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("server_signature", sa.String(length=128), nullable=False),
        _fk(t, "document_id", "documents"),
        _fk(t, "org_id", "organisations"),
        _fk(t, "staff_id", "staff"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{t}_document_id"), ["document_id"], unique=False)

    t = "confirmation_applications"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("court_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("apply_by", sa.Date(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("decide_by", sa.Date(), nullable=True),
        sa.Column("application_document_id", sa.Integer(), nullable=True),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("extended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extended_by_id", sa.Integer(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_reasons", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("ruling_document_id", sa.Integer(), nullable=True),
        _fk(t, "case_id", "cases"),
        _fk(t, "agreement_id", "documents"),
        _fk(t, "court_id", "organisations"),
        _fk(t, "proposed_by_id", "staff"),
        _fk(t, "application_document_id", "documents"),
        _fk(t, "extended_by_id", "staff"),
        _fk(t, "decided_by_id", "staff"),
        _fk(t, "ruling_document_id", "documents"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    with op.batch_alter_table(t, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{t}_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_confirmation_applications_court", ["court_id", "status"])

    t = "confirmation_consents"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        _fk(t, "application_id", "confirmation_applications"),
        _fk(t, "party_id", "parties"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("application_id", "party_id", name="uq_confirmation_consents_party"),
    )


def downgrade() -> None:
    op.drop_table("confirmation_consents")
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_confirmation_applications_court")
        batch_op.drop_index(batch_op.f("ix_confirmation_applications_case_id"))
    op.drop_table("confirmation_applications")
    with op.batch_alter_table("document_seals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_seals_document_id"))
    op.drop_table("document_seals")
    with op.batch_alter_table("document_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_document_signatures_case")
        batch_op.drop_index(batch_op.f("ix_document_signatures_case_id"))
        batch_op.drop_index(batch_op.f("ix_document_signatures_document_id"))
    op.drop_table("document_signatures")
