"""recordings, transcripts, background jobs, documents

- ``recording_sessions``, ``recording_tracks``, ``recording_segments``: what was recorded, one
  file per track and ~10 s, each closed segment hashed into the session's chain.
- ``recording_events``: the session's timeline (append-only).
- ``recording_caucus_releases``: caucus recordings released to the court (append-only).
- ``recording_bookmarks``: reviewers' marks with notes.
- ``transcripts``, ``transcript_lines``: recogniser output per audio track.
- ``jobs``: background work with progress.
- ``documents``: versioned, hashed documents made from templates.

Revision ID: 0008_recordings
Revises: 0007_case_month_stats
Create Date: 2026-11-28 04:07:20.750023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_recordings"
down_revision: str | None = "0007_case_month_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_jobs_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_jobs_created_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status", ["status", "id"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_documents_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_documents_created_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearings.id"], name=op.f("fk_documents_hearing_id_hearings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("case_id", "kind", "version", name="uq_documents_version"),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_documents_case_kind", ["case_id", "kind", "version"], unique=False
        )

    op.create_table(
        "recording_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by_participant_id", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("chain_head", sa.String(length=64), nullable=False),
        sa.Column("chain_length", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_recording_sessions_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearings.id"], name=op.f("fk_recording_sessions_hearing_id_hearings")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_participant_id"],
            ["hearing_participants.id"],
            name="fk_recording_sessions_started_by",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_sessions")),
    )
    with op.batch_alter_table("recording_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_sessions_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recording_sessions_hearing_id"), ["hearing_id"], unique=False
        )

    op.create_table(
        "recording_bookmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("offset_ms", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_bookmarks_session_id_recording_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_recording_bookmarks_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_bookmarks")),
    )
    with op.batch_alter_table("recording_bookmarks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_bookmarks_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "recording_caucus_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("sub_room", sa.String(length=16), nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["staff.id"],
            name=op.f("fk_recording_caucus_releases_released_by_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_caucus_releases_session_id_recording_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_caucus_releases")),
    )
    with op.batch_alter_table("recording_caucus_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_caucus_releases_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "recording_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset_ms", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("sub_room", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["hearing_participants.id"], name="fk_recording_events_participant"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_events_session_id_recording_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_events")),
    )
    with op.batch_alter_table("recording_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recording_events_session", ["session_id", "offset_ms", "id"], unique=False
        )

    op.create_table(
        "recording_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("sub_room", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("codec", sa.String(length=16), nullable=False),
        sa.Column("container", sa.String(length=8), nullable=False),
        sa.Column("first_frame_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["hearing_participants.id"], name="fk_recording_tracks_participant"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_tracks_session_id_recording_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_tracks")),
    )
    with op.batch_alter_table("recording_tracks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_tracks_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "recording_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("chain_index", sa.Integer(), nullable=True),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_segments_session_id_recording_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["recording_tracks.id"],
            name=op.f("fk_recording_segments_track_id_recording_tracks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_segments")),
        sa.UniqueConstraint("session_id", "chain_index", name="uq_recording_segments_chain"),
        sa.UniqueConstraint("track_id", "index", name="uq_recording_segments_track_index"),
    )
    with op.batch_alter_table("recording_segments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_segments_track_id"), ["track_id"], unique=False
        )

    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["hearing_participants.id"], name="fk_transcripts_participant"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_transcripts_session_id_recording_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["recording_tracks.id"],
            name=op.f("fk_transcripts_track_id_recording_tracks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
    )
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transcripts_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transcripts_track_id"), ["track_id"], unique=False)

    op.create_table(
        "transcript_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["staff.id"], name=op.f("fk_transcript_lines_accepted_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["hearing_participants.id"], name="fk_transcript_lines_participant"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recording_sessions.id"],
            name=op.f("fk_transcript_lines_session_id_recording_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["transcript_id"],
            ["transcripts.id"],
            name=op.f("fk_transcript_lines_transcript_id_transcripts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_lines")),
    )
    with op.batch_alter_table("transcript_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transcript_lines_session", ["session_id", "start_ms"], unique=False
        )

    _append_only("recording_events")
    _append_only("recording_caucus_releases")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` in the database itself (the function
    ``bilin_refuse_change`` on PostgreSQL comes from 0001)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION bilin_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def downgrade() -> None:
    _drop_append_only("recording_events")
    _drop_append_only("recording_caucus_releases")
    with op.batch_alter_table("transcript_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_transcript_lines_session")

    op.drop_table("transcript_lines")
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transcripts_track_id"))
        batch_op.drop_index(batch_op.f("ix_transcripts_session_id"))

    op.drop_table("transcripts")
    with op.batch_alter_table("recording_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_segments_track_id"))

    op.drop_table("recording_segments")
    with op.batch_alter_table("recording_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_tracks_session_id"))

    op.drop_table("recording_tracks")
    with op.batch_alter_table("recording_events", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_events_session")

    op.drop_table("recording_events")
    with op.batch_alter_table("recording_caucus_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_caucus_releases_session_id"))

    op.drop_table("recording_caucus_releases")
    with op.batch_alter_table("recording_bookmarks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_bookmarks_session_id"))

    op.drop_table("recording_bookmarks")
    with op.batch_alter_table("recording_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_sessions_hearing_id"))
        batch_op.drop_index(batch_op.f("ix_recording_sessions_case_id"))

    op.drop_table("recording_sessions")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_case_kind")
        batch_op.drop_index(batch_op.f("ix_documents_case_id"))

    op.drop_table("documents")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status")

    op.drop_table("jobs")
