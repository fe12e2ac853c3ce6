"""The mediation record (调解笔录) of a hearing: who may edit it, autosave with an optimistic
version counter (every change kept as a version), the mediator's sign-off (which freezes it
and issues the document) and the parties' confirmation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from recording.vocabulary import RecordingStatus
from server.access import case_in_scope
from server.auth.principal import PartyPrincipal, Principal, StaffPrincipal
from server.db import (
    Case,
    Document,
    Hearing,
    HearingParticipant,
    MediationRecord,
    Party,
    RecordConfirmation,
    RecordingSession,
    RecordStatement,
    RecordVersion,
)
from server.db.base import utcnow
from server.documents.issue import issue_document
from server.documents.render import masked_for_screen
from server.documents.schemas import (
    PartyRecordOut,
    RecordOut,
    SpeakerOut,
    StatementIn,
    StatementOut,
)
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind, RecordStatus
from server.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from server.hearings.seats import acting_seat
from server.hearings.vocabulary import PRESIDING_ROLES, ParticipantRole
from server.vocabulary import PartyRole, Role
from server.workflow.timeline import record as timeline

# Staff who may write a record in their scope after the hearing (a clerk typing it up).
EDITING_ROLES = frozenset({Role.MEDIATOR, Role.INTAKE_CLERK, Role.ADMINISTRATOR, Role.SUPERVISOR})
ACTIVE_RECORDING = (RecordingStatus.RECORDING, RecordingStatus.PAUSED)

SEAT_LABELS = {
    ParticipantRole.APPLICANT: "申请人",
    ParticipantRole.RESPONDENT: "被申请人",
    ParticipantRole.AGENT: "代理人",
    ParticipantRole.MEDIATOR: "调解员",
    ParticipantRole.CO_MEDIATOR: "调解员",
    ParticipantRole.JUDGE: "审判员",
    ParticipantRole.COURT_CLERK: "书记员",
    ParticipantRole.DEPARTMENT_LIAISON: "部门联络员",
    ParticipantRole.INTERPRETER: "翻译人员",
    ParticipantRole.OBSERVER: "旁听人员",
}


class RecordConflict(Conflict):
    """An autosave on top of a version someone else has replaced."""

    key = "error.record_conflict"

    def __init__(self, record: RecordOut) -> None:
        super().__init__()
        self.record = record


@dataclass(frozen=True)
class Editor:
    """Who is acting on a record and what they may do."""

    staff_id: int | None
    participant_id: int | None
    name: str
    may_edit: bool
    may_sign_off: bool


async def _editor(db: AsyncSession, who: Principal | None, hearing: Hearing) -> Editor:
    """The requester's rights over ``hearing``'s record; :class:`NotFound` if none at all."""
    seat = await acting_seat(db, who, hearing.id)
    if seat is not None and seat.role in PRESIDING_ROLES:
        staff_id = who.staff_id if isinstance(who, StaffPrincipal) else None
        return Editor(staff_id, seat.id, seat.name, True, True)
    if not isinstance(who, StaffPrincipal):
        raise NotFound()
    case = await case_in_scope(db, who, hearing.case_id)
    may_edit = who.role in EDITING_ROLES
    may_sign = who.role == Role.MEDIATOR and case.mediator_id == who.staff_id
    return Editor(who.staff_id, None, who.display_name, may_edit, may_sign)


async def _hearing(db: AsyncSession, hearing_id: int) -> Hearing:
    hearing = await db.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound()
    return hearing


async def open_record(
    db: AsyncSession, who: Principal | None, hearing_id: int
) -> tuple[MediationRecord, Editor]:
    """The hearing's record (made on first use by someone who may edit it) and the requester's
    rights over it."""
    hearing = await _hearing(db, hearing_id)
    editor = await _editor(db, who, hearing)
    record = (
        await db.execute(select(MediationRecord).where(MediationRecord.hearing_id == hearing.id))
    ).scalar_one_or_none()
    if record is None:
        if not editor.may_edit:
            raise NotFound()
        record = MediationRecord(
            case_id=hearing.case_id, hearing_id=hearing.id, status=RecordStatus.EDITING, version=0
        )
        db.add(record)
        await db.flush()
    return record, editor


async def record_by_id(
    db: AsyncSession, who: Principal | None, record_id: int
) -> tuple[MediationRecord, Editor]:
    """A record by id, with the requester's rights (anyone without any is told it is missing)."""
    record = await db.get(MediationRecord, record_id)
    if record is None:
        raise NotFound()
    editor = await _editor(db, who, await _hearing(db, record.hearing_id))
    return record, editor


async def _statements(db: AsyncSession, record_id: int) -> list[RecordStatement]:
    rows = await db.execute(
        select(RecordStatement)
        .where(RecordStatement.record_id == record_id)
        .order_by(RecordStatement.position)
    )
    return list(rows.scalars())


async def _seats(db: AsyncSession, hearing_id: int) -> list[HearingParticipant]:
    rows = await db.execute(
        select(HearingParticipant)
        .where(HearingParticipant.hearing_id == hearing_id)
        .order_by(HearingParticipant.id)
    )
    return list(rows.scalars())


async def _active_session(db: AsyncSession, hearing_id: int) -> RecordingSession | None:
    return (
        await db.execute(
            select(RecordingSession)
            .where(
                RecordingSession.hearing_id == hearing_id,
                RecordingSession.status.in_(ACTIVE_RECORDING),
            )
            .order_by(RecordingSession.started_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _statement_out(row: RecordStatement, client_key: str = "") -> StatementOut:
    return StatementOut(
        id=row.id,
        client_key=client_key,
        position=row.position,
        speaker_participant_id=row.speaker_participant_id,
        speaker_name=row.speaker_name,
        speaker_role=row.speaker_role,
        text=row.text,
        offset_ms=row.offset_ms,
        said_at=row.said_at,
    )


async def record_out(
    db: AsyncSession,
    record: MediationRecord,
    editor: Editor,
    client_keys: dict[int, str] | None = None,
) -> RecordOut:
    """The record as the API returns it."""
    keys = client_keys or {}
    statements = await _statements(db, record.id)
    seats = await _seats(db, record.hearing_id)
    session = await _active_session(db, record.hearing_id)
    confirmed = (
        await db.execute(
            select(RecordConfirmation.party_id).where(RecordConfirmation.record_id == record.id)
        )
    ).scalars()
    editing = record.status == RecordStatus.EDITING
    return RecordOut(
        id=record.id,
        case_id=record.case_id,
        hearing_id=record.hearing_id,
        status=record.status,
        version=record.version,
        saved_at=record.updated_at,
        statements=[_statement_out(s, keys.get(s.id, "")) for s in statements],
        speakers=[SpeakerOut(participant_id=s.id, name=s.name, role=str(s.role)) for s in seats],
        recording_started_at=session.started_at if session else None,
        may_edit=editor.may_edit and editing,
        may_sign_off=editor.may_sign_off and editing,
        signed_off_by_name=record.signed_off_by_name,
        signed_off_at=record.signed_off_at,
        document_id=record.document_id,
        confirmed_party_ids=sorted(confirmed),
    )


def _snapshot(statements: list[RecordStatement]) -> str:
    """The statements as the canonical JSON a version keeps (and hashes)."""
    return json.dumps(
        [
            {
                "id": s.id,
                "position": s.position,
                "speaker_participant_id": s.speaker_participant_id,
                "speaker_name": s.speaker_name,
                "speaker_role": s.speaker_role,
                "text": s.text,
                "offset_ms": s.offset_ms,
                "said_at": s.said_at.isoformat(),
            }
            for s in statements
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def _unchanged(current: list[RecordStatement], incoming: list[StatementIn]) -> bool:
    return len(current) == len(incoming) and all(
        item.id == row.id
        and item.text == row.text
        and item.speaker_participant_id == row.speaker_participant_id
        for row, item in zip(current, incoming, strict=True)
    )


async def save_statements(
    db: AsyncSession,
    who: Principal | None,
    record_id: int,
    base_version: int,
    incoming: list[StatementIn],
) -> RecordOut:
    """Autosave the whole list on top of ``base_version``.

    Someone else saved in between: :class:`RecordConflict` carrying what they saved (nothing is
    written). Nothing changed: the record as it is. Otherwise the statements are updated in
    place (new ones stamped now, on the session clock when recording), the version counter goes
    up by one, and the new state is kept as a :class:`RecordVersion`."""
    record, editor = await record_by_id(db, who, record_id)
    if not editor.may_edit:
        raise NotFound()
    if record.status != RecordStatus.EDITING:
        raise Conflict("error.record_signed_off")
    current = await _statements(db, record.id)
    if base_version != record.version:
        raise RecordConflict(await record_out(db, record, editor))
    if _unchanged(current, incoming):
        return await record_out(db, record, editor)
    seats = {s.id: s for s in await _seats(db, record.hearing_id)}
    by_id = {s.id: s for s in current}
    for index, item in enumerate(incoming):
        if item.speaker_participant_id not in seats:
            raise InvalidInput(
                fields={f"statements.{index}.speaker": FieldError("field.record_unknown_speaker")}
            )
        if item.id is not None and item.id not in by_id:
            raise InvalidInput(
                fields={f"statements.{index}.id": FieldError("field.record_unknown_statement")}
            )
    # The optimistic lock: only the save that moves the counter from base_version wins; a
    # racing one (same base) updates no row and is answered with a conflict.
    moved = await db.execute(
        update(MediationRecord)
        .where(MediationRecord.id == record.id, MediationRecord.version == base_version)
        .values(version=base_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        await db.refresh(record)
        raise RecordConflict(await record_out(db, record, editor))
    await db.refresh(record)
    now = utcnow()
    session = await _active_session(db, record.hearing_id)
    offset = int((now - session.started_at).total_seconds() * 1000) if session else None
    keep = {item.id for item in incoming if item.id is not None}
    for row in current:
        if row.id not in keep:
            await db.delete(row)
    await db.flush()
    client_keys: dict[int, str] = {}
    for position, item in enumerate(incoming):
        seat = seats[item.speaker_participant_id]
        if item.id is not None:
            row = by_id[item.id]
        else:
            row = RecordStatement(record_id=record.id, said_at=now, offset_ms=offset)
            db.add(row)
        # Positions are rewritten in place; no uniqueness to trip over mid-update.
        row.position = position
        row.speaker_participant_id = seat.id
        row.speaker_name = seat.name
        row.speaker_role = str(seat.role)
        row.text = item.text
        await db.flush()
        if item.client_key:
            client_keys[row.id] = item.client_key
    saved = await _statements(db, record.id)
    snapshot = _snapshot(saved)
    db.add(
        RecordVersion(
            record_id=record.id,
            version=record.version,
            statements=snapshot,
            sha256=hashlib.sha256(snapshot.encode("utf-8")).hexdigest(),
            saved_by_id=editor.staff_id,
            saved_by_participant_id=editor.participant_id,
            saved_at=now,
        )
    )
    await db.flush()
    return await record_out(db, record, editor, client_keys)


def clock_text(offset_ms: int | None) -> str:
    """A position on the session clock as H:MM:SS (empty when not recorded)."""
    if offset_ms is None:
        return ""
    seconds = offset_ms // 1000
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


async def sign_off(
    db: AsyncSession,
    who: Principal | None,
    record_id: int,
    *,
    template_dir: TemplateDirs,
    timezone: str,
    today: dt.date,
) -> tuple[MediationRecord, Document]:
    """The mediator freezes the record: the 调解笔录 is issued from the centre's template
    (FINAL) and the record can no longer be edited. A template that fails changes nothing."""
    record, editor = await record_by_id(db, who, record_id)
    if not editor.may_sign_off:
        raise NotFound() if not editor.may_edit else _forbidden()
    if record.status != RecordStatus.EDITING:
        raise Conflict("error.record_signed_off")
    statements = await _statements(db, record.id)
    if not any(s.text.strip() for s in statements):
        raise Conflict("error.record_empty")
    hearing = await _hearing(db, record.hearing_id)
    case = await db.get(Case, record.case_id)
    assert case is not None
    seats = await _seats(db, hearing.id)
    tz = ZoneInfo(timezone)
    now = utcnow()
    mediators = [s.name for s in seats if s.role in PRESIDING_ROLES]
    data = {
        "hearing": {
            "id": hearing.id,
            "starts_at_text": hearing.starts_at.astimezone(tz).strftime("%Y年%m月%d日 %H:%M"),
            "seats": [
                {
                    "name": s.name,
                    "role": str(s.role),
                    "role_label": SEAT_LABELS.get(s.role, str(s.role)),
                    "party_id": s.party_id,
                }
                for s in seats
            ],
        },
        "record": {
            "id": record.id,
            "version": record.version,
            "mediator_name": "、".join(mediators) or editor.name,
            "signed_off_by": editor.name,
            "signed_off_on": now.astimezone(tz).date().isoformat(),
        },
        "statements": [
            {
                "speaker_name": s.speaker_name,
                "speaker_role": s.speaker_role,
                "text": s.text,
                "offset_ms": s.offset_ms,
                "clock": clock_text(s.offset_ms),
                "said_at": s.said_at.isoformat(),
            }
            for s in statements
            if s.text.strip()
        ],
    }
    document = await issue_document(
        db,
        case,
        DocumentKind.MEDIATION_RECORD,
        data,
        created_by=editor.staff_id,
        template_dir=template_dir,
        hearing_id=hearing.id,
        today=today,
    )
    record.status = RecordStatus.SIGNED_OFF
    record.signed_off_by_id = editor.staff_id
    record.signed_off_by_participant_id = editor.participant_id
    record.signed_off_by_name = editor.name
    record.signed_off_at = now
    record.document_id = document.id
    record.updated_at = now
    await timeline(
        db,
        case,
        "record_signed_off",
        actor_id=editor.staff_id,
        actor_label=editor.name,
        hearing_id=hearing.id,
        record_id=record.id,
        document_id=document.id,
        sha256=document.sha256,
    )
    await db.flush()
    return record, document


def _forbidden() -> Exception:
    return Forbidden("error.record_sign_off_mediator")


async def _party_record(db: AsyncSession, who: PartyPrincipal, record_id: int) -> MediationRecord:
    record = await db.get(MediationRecord, record_id)
    # Parties see a record only once the mediator has signed it off.
    if record is None or record.case_id != who.case_id or record.status == RecordStatus.EDITING:
        raise NotFound()
    return record


async def party_record(db: AsyncSession, who: PartyPrincipal, record_id: int) -> PartyRecordOut:
    """What a party is shown of a signed-off record: the document (ID numbers masked), its
    hash, and whether they have confirmed it."""
    record = await _party_record(db, who, record_id)
    document = await db.get(Document, record.document_id) if record.document_id else None
    mine = (
        await db.execute(
            select(RecordConfirmation.id).where(
                RecordConfirmation.record_id == record.id,
                RecordConfirmation.party_id == who.party_id,
            )
        )
    ).scalar_one_or_none()
    return PartyRecordOut(
        id=record.id,
        hearing_id=record.hearing_id,
        status=record.status,
        document_id=record.document_id,
        document_sha256=document.sha256 if document else "",
        content=masked_for_screen(document.content) if document else "",
        signed_off_by_name=record.signed_off_by_name,
        signed_off_at=record.signed_off_at,
        confirmed=mine is not None,
    )


async def party_records(db: AsyncSession, who: PartyPrincipal) -> list[PartyRecordOut]:
    """The signed-off records of the party's case, oldest first."""
    ids = (
        await db.execute(
            select(MediationRecord.id)
            .where(
                MediationRecord.case_id == who.case_id,
                MediationRecord.status != RecordStatus.EDITING,
            )
            .order_by(MediationRecord.id)
        )
    ).scalars()
    return [await party_record(db, who, record_id) for record_id in ids]


async def confirm_record(
    db: AsyncSession, party_principal: PartyPrincipal, record_id: int
) -> MediationRecord:
    """A party confirms the signed-off record through their link, bound to the SHA-256 of the
    document they were shown. Confirming again changes nothing. When every applicant and
    respondent has confirmed (an agent's confirmation counts for the party they represent),
    the record becomes CONFIRMED."""
    record = await _party_record(db, party_principal, record_id)
    document = await db.get(Document, record.document_id) if record.document_id else None
    if document is None:
        raise NotFound()
    existing = (
        await db.execute(
            select(RecordConfirmation).where(
                RecordConfirmation.record_id == record.id,
                RecordConfirmation.party_id == party_principal.party_id,
            )
        )
    ).scalar_one_or_none()
    case = await db.get(Case, record.case_id)
    assert case is not None
    if existing is None:
        db.add(
            RecordConfirmation(
                record_id=record.id,
                party_id=party_principal.party_id,
                document_sha256=document.sha256,
            )
        )
        await timeline(
            db,
            case,
            "record_confirmed",
            actor_label=party_principal.name,
            record_id=record.id,
            document_id=document.id,
            sha256=document.sha256,
        )
        await db.flush()
    parties = list(
        (await db.execute(select(Party).where(Party.case_id == record.case_id))).scalars()
    )
    confirmed = set(
        (
            await db.execute(
                select(RecordConfirmation.party_id).where(RecordConfirmation.record_id == record.id)
            )
        ).scalars()
    )
    covered = confirmed | {
        p.represents_id for p in parties if p.id in confirmed and p.represents_id
    }
    required = {p.id for p in parties if p.role in (PartyRole.APPLICANT, PartyRole.RESPONDENT)}
    if required <= covered and record.status == RecordStatus.SIGNED_OFF:
        record.status = RecordStatus.CONFIRMED
        record.updated_at = utcnow()
        await db.flush()
    return record
